"""HTTP load from threads: an open loop at a fixed arrival rate, a closed loop of
clients that each send again as soon as they have an answer.

In the open loop a request is due at start + n / rate whether or not earlier ones
were answered, and its time is counted from when it was due: a server that stalls
delays the requests queued behind it, and that wait is part of their latency.
"""

import http.client
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

# send(connection, number) -> (HTTP status, whatever the caller keeps of the answer)
Send = Callable[[http.client.HTTPConnection, int], tuple[int, object]]


@dataclass(frozen=True)
class Sample:
    status: int
    # From when the request was due (open loop) or sent (closed loop) to its answer.
    latency_ms: float
    sent_at: float
    answered_at: float
    kept: object = None
    error: str = ""


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.samples)

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 200]

    @property
    def errors(self) -> list[str]:
        return sorted(
            {s.error or f"HTTP {s.status}" for s in self.samples if s.status != 200}
        )

    def latency(self, fraction: float) -> float:
        return percentile([s.latency_ms for s in self.samples], fraction)

    @property
    def arrival_rate(self) -> float:
        """Requests sent per second, first send to last."""
        sent = sorted(s.sent_at for s in self.samples)
        if len(sent) < 2 or sent[-1] == sent[0]:
            return 0.0
        return (len(sent) - 1) / (sent[-1] - sent[0])

    @property
    def answer_rate(self) -> float:
        """Answers with 200 per second over the whole run."""
        return len(self.ok) / self.seconds if self.seconds else 0.0


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _attempt(
    connection: http.client.HTTPConnection, send: Send, number: int
) -> tuple[int, object, str]:
    try:
        status, kept = send(connection, number)
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        return 0, None, f"{type(exc).__name__}: {exc}"
    return status, kept, ""


def open_loop(
    *,
    host: str,
    port: int,
    send: Send,
    rate: float,
    seconds: float,
    threads: int = 100,
    timeout: float = 30.0,
) -> LoadResult:
    """rate × seconds requests, each on a connection of its own, at fixed intervals."""
    count = max(1, round(rate * seconds))

    def one(number: int, due: float) -> Sample:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        sent = time.perf_counter()
        status, kept, error = _attempt(connection, send, number)
        answered = time.perf_counter()
        connection.close()
        return Sample(status, (answered - due) * 1000, sent, answered, kept, error)

    started = time.perf_counter() + 0.05
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = []
        for number in range(count):
            due = started + number / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one, number, due))
        samples = [future.result() for future in futures]
    return LoadResult(samples, time.perf_counter() - started)


def closed_loop(
    *,
    host: str,
    port: int,
    send: Send,
    clients: int,
    seconds: float,
    first_number: int = 0,
    timeout: float = 30.0,
) -> LoadResult:
    """`clients` threads, each on one kept-alive connection, sending back to back."""
    numbers = itertools.count(first_number)
    samples: list[Sample] = []
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + seconds

    def client() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        mine = []
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            status, kept, error = _attempt(connection, send, next(numbers))
            answered = time.perf_counter()
            mine.append(
                Sample(status, (answered - sent) * 1000, sent, answered, kept, error)
            )
        connection.close()
        with lock:
            samples.extend(mine)

    workers = [threading.Thread(target=client) for _ in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return LoadResult(samples, time.perf_counter() - started)
