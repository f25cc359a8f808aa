"""Ingest throughput end to end: submit → process_inbound → route_ticket, real workers.

A Celery worker subprocess consumes a queue of its own, so a desk worker running
on the same broker never takes the bench's tasks (nor the bench a desk's). The
clock runs from the first submit until every ticket the messages opened is routed.
"""

import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Count
from django.utils import timezone

from channels_app.ingest import submit_message
from channels_app.models import InboundRecord
from customers.identities import InvalidIdentityError, normalise_phone
from customers.models import Identity
from supportdesk.celery import app
from tests.bench.processes import BenchWorkerError, LoggedProcess
from tests.bench.report import Report
from tickets.inbound import IdentityClaim, InboundMessage
from tickets.models import Ticket

# Channel → the identity kind its sender arrives with.
CHANNEL_IDENTITY = {
    "email": "email",
    "chat": "web",
    "whatsapp": "whatsapp",
    "sms": "sms",
    "phone": "phone",
    "telegram": "telegram",
    "messenger": "messenger",
}
CHANNEL_MIX = (
    ("email", 40),
    ("chat", 20),
    ("whatsapp", 15),
    ("sms", 8),
    ("phone", 5),
    ("telegram", 6),
    ("messenger", 6),
)
LINES = (
    ("Refund for a double charge", "I was charged twice, please refund one of them."),
    ("Login error", "The login page shows an error since this morning."),
    ("Quote please", "What is the price for twenty seats?"),
    ("Broken on arrival", "The parcel arrived broken; how do I return it?"),
    ("Opening hours", "Are you open on Sunday?"),
    ("Hallo", "Ich habe eine Frage zu meinem Konto."),
)
THROUGHPUT_TARGET = 250.0
WARMUP_MESSAGES = 40


@dataclass(frozen=True)
class IngestResult:
    messages: int
    seconds: float
    submit_seconds: float
    failed: int
    tickets: int
    tickets_with_one_route_change: int

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


class BenchWorker(LoggedProcess):
    """A Celery worker subprocess on its own queue, stopped however the bench ends."""

    name = "worker"

    def __init__(self, *, queue: str, concurrency: int, log_path: Path, extra_env=None):
        super().__init__(log_path=log_path)
        self.queue = queue
        self.concurrency = concurrency
        self.extra_env = dict(extra_env or {})

    def __enter__(self) -> "BenchWorker":
        env = {
            **os.environ,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "REDIS_URL": os.environ["REDIS_URL"],
            **self.extra_env,
        }
        celery = Path(sys.executable).with_name("celery")
        command = [
            str(celery),
            "-A",
            "supportdesk",
            "worker",
            f"--concurrency={self.concurrency}",
            "-Q",
            self.queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-P",
            "prefork",
            "--loglevel=INFO",
            f"--hostname=bench-{self.queue}@%h",
        ]
        self.start(command, env)
        self.wait_until(lambda: b" ready." in self.log_path.read_bytes())
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
        _delete_queue(self.queue)


def _delete_queue(queue: str) -> None:
    """Remove the bench queue and its binding from the broker."""
    with app.connection_for_write() as conn:
        # The broker channel deletes only the bindings it has declared itself.
        bound = app.amqp.queues[queue](conn.default_channel)
        bound.declare()
        bound.delete()


@contextmanager
def bench_queue(queue: str) -> Iterator[None]:
    """Send this process's tasks to the bench queue, never inline, until the block
    ends; then the queue, eager setting and environment are the desk's again, so
    the next part of the bench starts from them whatever ran before."""
    saved_env = os.environ.get("CELERY_TASK_DEFAULT_QUEUE")
    saved_conf = (app.conf.task_default_queue, app.conf.task_always_eager)
    _send_tasks_to(queue, eager=False)
    try:
        if app.amqp.default_queue.name != queue:
            raise BenchWorkerError(f"tasks would go to {app.amqp.default_queue.name!r}")
        yield
    finally:
        _send_tasks_to(saved_conf[0], eager=saved_conf[1])
        if saved_env is None:
            os.environ.pop("CELERY_TASK_DEFAULT_QUEUE", None)
        else:
            os.environ["CELERY_TASK_DEFAULT_QUEUE"] = saved_env


def _send_tasks_to(queue: str, *, eager: bool) -> None:
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = queue
    app.conf.task_default_queue = queue
    app.conf.task_always_eager = eager
    # Celery builds its queue map, default exchange and router once, on first
    # use, and keeps them on app.amqp: dropped here, they are built again from
    # the settings just changed.
    vars(app).pop("amqp", None)


def _fresh_phones(count: int, rng: random.Random) -> list[str]:
    """Valid numbers no identity has yet, so each message opens a new customer."""
    phones: set[str] = set()
    while len(phones) < count:
        candidate = (
            f"+1{rng.choice((202, 312, 415, 617))}{rng.randint(2000000, 9999999)}"
        )
        try:
            phones.add(normalise_phone(candidate))
        except InvalidIdentityError:
            continue
        if len(phones) == count:
            taken = set(
                Identity.objects.filter(value__in=phones).values_list(
                    "value", flat=True
                )
            )
            phones -= taken
    return sorted(phones)


def build_messages(count: int, run: str, seed: int = 7) -> list[InboundMessage]:
    rng = random.Random(f"{run}-{seed}")
    channels = [name for name, _ in CHANNEL_MIX]
    weights = [weight for _, weight in CHANNEL_MIX]
    picked = rng.choices(channels, weights, k=count)
    phones = iter(
        _fresh_phones(sum(c in ("whatsapp", "sms", "phone") for c in picked), rng)
    )
    messages = []
    for number, channel in enumerate(picked):
        kind = CHANNEL_IDENTITY[channel]
        if kind == "email":
            value = f"bench.{run}.{number}@example.org"
        elif kind in ("whatsapp", "sms", "phone"):
            phone = next(phones)
            value = phone.lstrip("+") if kind == "whatsapp" else phone
        else:
            value = f"{kind}-{run}-{number}"
        subject, text = rng.choice(LINES)
        messages.append(
            InboundMessage(
                channel=channel,
                external_id=f"bench-{run}-{number}",
                identities=(IdentityClaim(kind=kind, value=value),),
                sender_name=f"Bench Sender {number}",
                subject=subject if channel == "email" else "",
                text=text,
                conversation_key=f"bench:{run}:{number}",
                continues_open_conversation=channel != "email",
                language="de" if subject == "Hallo" else "en",
            )
        )
    return messages


def _submit_and_wait(messages: list[InboundMessage], prefix: str, timeout: float):
    received_since = timezone.now()
    started = time.perf_counter()
    for message in messages:
        submit_message(message)
    submitted = time.perf_counter() - started
    tickets = Ticket.objects.filter(conversation_key__startswith=prefix)
    external_ids = {f"{m.channel}:{m.external_id}" for m in messages}
    # Failed records are few: found by status, then matched here. A query naming
    # every id would cost this loop more CPU than the worker it shares it with.
    failures = InboundRecord.objects.filter(
        channel="api",
        status__in=[InboundRecord.Status.FAILED, InboundRecord.Status.UNSUPPORTED],
        received_at__gte=received_since,
    ).values_list("external_id", flat=True)
    deadline = started + timeout
    while True:
        routed = tickets.filter(routed_at__isnull=False).count()
        failed = len(external_ids.intersection(failures.all()))
        if routed + failed >= len(messages):
            return time.perf_counter() - started, submitted, failed
        if time.perf_counter() > deadline:
            raise BenchWorkerError(
                f"only {routed} of {len(messages)} tickets routed in {timeout:.0f}s"
            )
        time.sleep(0.05)


def measure_ingest(
    *,
    messages: int,
    concurrency: int,
    log_dir: Path,
    worker_env=None,
    timeout: float = 600.0,
) -> IngestResult:
    run = uuid.uuid4().hex[:10]
    queue = f"bench-{run}"
    warmup = build_messages(WARMUP_MESSAGES, f"{run}w")
    batch = build_messages(messages, run)
    with (
        bench_queue(queue),
        BenchWorker(
            queue=queue,
            concurrency=concurrency,
            log_path=log_dir / "worker.log",
            extra_env=worker_env,
        ),
    ):
        # Each worker child imports, connects and compiles its first queries once.
        _submit_and_wait(warmup, f"bench:{run}w:", timeout)
        seconds, submitted, failed = _submit_and_wait(batch, f"bench:{run}:", timeout)
    tickets = Ticket.objects.filter(conversation_key__startswith=f"bench:{run}:")
    changes = tickets.annotate(changes=Count("route_changes")).filter(changes=1)
    return IngestResult(
        messages=messages,
        seconds=seconds,
        submit_seconds=submitted,
        failed=failed,
        tickets=tickets.count(),
        tickets_with_one_route_change=changes.count(),
    )


def add_figures(
    report: Report, result: IngestResult, *, concurrency: int, worker_env: dict
) -> None:
    report.context["ingest"] = {
        "messages": result.messages,
        "concurrency": concurrency,
        "worker_env": worker_env,
        "seconds": round(result.seconds, 2),
        "submit_seconds": round(result.submit_seconds, 2),
    }
    report.add(
        "ingest throughput (submit → routed)",
        f"{result.per_second:.0f} msg/s",
        f">= {THROUGHPUT_TARGET:.0f} msg/s",
        result.per_second >= THROUGHPUT_TARGET,
        number=round(result.per_second, 1),
    )
    report.add(
        "ingest: tickets routed",
        f"{result.tickets:,} of {result.messages:,}",
        "all",
        result.tickets == result.messages and not result.failed,
        number=result.tickets,
    )
    report.add(
        "ingest: tickets with exactly one RouteChange",
        f"{result.tickets_with_one_route_change:,}",
        "all",
        result.tickets_with_one_route_change == result.tickets,
        number=result.tickets_with_one_route_change,
    )
