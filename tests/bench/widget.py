"""Chat widget load: the sockets one server process holds, and how fast an agent's
reply reaches the visitor while conversations go on.

daphne serves the desk in a subprocess with the Redis channel layer, and a Celery
worker on a queue of its own sends the replies and ingests what visitors write, as
in production. Visitors are rows made here in bulk; each socket completes the
widget's hello with a token issued for its visitor (widget_sockets.py beside
this module holds the bench's end of the sockets; widget_report.py prints).

Then some of the visitors write, so the real path opens their tickets, and the
agents reply through the desk's own action at a steady rate while the visitors
go on writing. A reply is timed from just before do_reply until it arrives on its
visitor's socket; a visitor's message from its send until a supervisor's desk
socket hears it.
"""

import os
import resource
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.test import Client

from channels_app.models import ChatEntry, ChatVisitor, Inbox
from channels_app.widget.entries import visitor_conversation_key
from channels_app.widget.tokens import issue_token
from tests.bench.ingest import BenchWorker, bench_queue
from tests.bench.processes import BenchWorkerError
from tests.bench.timeline import bench_supervisor
from tests.bench.webhook import BenchServer
from tests.bench.widget_sockets import (
    HANDSHAKE_TIMEOUT,
    OPEN_PARALLEL,
    Fleet,
    Latencies,
    latencies,
    wait_for,
)
from tickets.actions.tickets import do_reply
from tickets.models import OPEN_STATUSES, Ticket, TimelineEvent

INBOX_SLUG = "bench-chat"
SOCKETS_TARGET = 2000
REPLY_P95_TARGET_MS = 100.0
WARMUP_SOCKETS = 20
# The server finishes with the handshakes before its memory is read.
SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class Holding:
    """Sockets one server process holds, and what they cost it."""

    requested: int
    opened: int
    errors: tuple[str, ...]
    seconds: float
    handshake: Latencies
    # Still open on the bench's side once every socket had been opened, and at
    # the end of the bench, so many seconds later.
    held: int
    held_at_end: int
    held_seconds: float
    open_files: tuple[int, int]
    file_limit: int
    rss_kib: tuple[int, int]
    cpu_seconds: float

    @property
    def kib_per_socket(self) -> float:
        return (self.rss_kib[1] - self.rss_kib[0]) / self.opened if self.opened else 0


@dataclass(frozen=True)
class Talk:
    """Conversations both ways: agents replying, visitors writing."""

    conversations: int
    tickets: int
    first_messages: Latencies
    replies: Latencies
    reply_rate: float
    # A reply's way in two legs: from just before do_reply until the worker
    # stored its entry, and from there to the visitor's socket.
    reply_calls: Latencies
    reply_stored: Latencies
    reply_relayed: Latencies
    visitor_messages: Latencies
    visitor_rate: float


@contextmanager
def open_file_limit_raised() -> Iterator[int]:
    """Let this process, and the server and worker it starts meanwhile (they
    inherit the limit), hold as many files as the hard limit allows; the limit
    this process had comes back after the block. Yields the new soft limit."""
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft, hard = saved
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, saved[1]))
    try:
        yield hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, saved)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User and system time the process has used."""
    # The command name, in parentheses, may hold spaces: count after it.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def file_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return 0


def bench_inbox() -> Inbox:
    inbox, _ = Inbox.objects.update_or_create(
        adapter=Inbox.Adapter.CHAT,
        slug=INBOX_SLUG,
        defaults={
            "name": "Bench chat",
            "enabled": True,
            "config": {"name_field": "optional", "email_field": "optional"},
        },
    )
    return inbox


def make_visitors(inbox: Inbox, count: int, run: str) -> list[ChatVisitor]:
    """Visitors without an email, so a reply never goes out as a mail as well."""
    return ChatVisitor.objects.bulk_create(
        [
            ChatVisitor(
                inbox=inbox,
                identity_value=f"visitor:{uuid.uuid4().hex}",
                name=f"Bench visitor {run} {number}",
            )
            for number in range(count)
        ],
        batch_size=1000,
    )


def desk_cookie(agent) -> str:
    """The session cookie of the agent signed in, for the desk socket."""
    client = Client()
    client.force_login(agent)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


def wait_for_tickets(visitors: list[ChatVisitor], timeout: float) -> list[Ticket]:
    """The visitors' open chat tickets, once each has one (or time is up)."""
    keys = [visitor_conversation_key(visitor) for visitor in visitors]
    tickets = Ticket.objects.filter(
        conversation_key__in=keys, channel="chat", status__in=OPEN_STATUSES
    )
    deadline = time.monotonic() + timeout
    while tickets.count() < len(keys) and time.monotonic() < deadline:
        time.sleep(0.1)
    return list(tickets.order_by("pk"))


def reply_at_rate(
    *, tickets: list[Ticket], author, texts: list[str], rate: float
) -> tuple[dict[str, float], dict[str, float], float]:
    """Agent replies round the tickets, each due at a steady rate: when each
    do_reply began, how long it took (ms), and the rate the replies went at."""
    started = time.perf_counter()
    sent: dict[str, float] = {}
    calls: dict[str, float] = {}
    for number, text in enumerate(texts):
        pause = started + number / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        sent[text] = time.perf_counter()
        do_reply(ticket=tickets[number % len(tickets)], author=author, text=text)
        calls[text] = (time.perf_counter() - sent[text]) * 1000
    seconds = time.perf_counter() - started
    return sent, calls, (len(texts) - 1) / seconds if len(texts) > 1 else 0.0


def reply_legs(
    sent: dict[str, float], heard: dict[str, float]
) -> tuple[Latencies, Latencies]:
    """Each reply's way split where the worker stored its entry; the entry's
    wall-clock time is brought onto this process's performance counter."""
    offset = time.time() - time.perf_counter()
    stored = dict(
        ChatEntry.objects.filter(
            event__text__in=list(sent), event__kind=TimelineEvent.Kind.MESSAGE_OUT
        ).values_list("event__text", "created_at")
    )
    stored = {text: at.timestamp() - offset for text, at in stored.items()}
    return latencies(sent, stored), latencies(
        {text: at for text, at in stored.items() if text in heard}, heard
    )


def hold(
    fleet: Fleet, *, pid: int, warmup: list[str], tokens: list[str], parallel: int
) -> Holding:
    """Open a socket per token and keep them; what the server process paid."""
    # The first sockets import the consumer and fill the server's pools.
    fleet.run(fleet.open_widgets(warmup, keep=False))
    time.sleep(SETTLE_SECONDS)
    rss_before, files_before, cpu = rss_kib(pid), open_files(pid), cpu_seconds(pid)
    started = time.perf_counter()
    opened, handshakes, errors = fleet.run(
        fleet.open_widgets(tokens, parallel=parallel)
    )
    seconds = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu
    time.sleep(SETTLE_SECONDS)
    return Holding(
        requested=len(tokens),
        opened=len(opened),
        errors=tuple(sorted(set(errors))),
        seconds=seconds,
        handshake=Latencies(sent=len(tokens), samples=tuple(handshakes)),
        held=fleet.held(),
        held_at_end=0,
        held_seconds=0.0,
        open_files=(files_before, open_files(pid)),
        file_limit=file_limit(pid),
        rss_kib=(rss_before, rss_kib(pid)),
        cpu_seconds=cpu,
    )


def talk(
    fleet: Fleet,
    *,
    run: str,
    agent,
    visitors: list[ChatVisitor],
    talking: list,
    replies: int,
    rate: float,
    visitor_rate: float,
    timeout: float,
) -> Talk:
    fleet.run(fleet.open_desk(desk_cookie(agent)), timeout=HANDSHAKE_TIMEOUT)
    first = [f"Bench hello {run} {n}" for n in range(len(visitors))]
    fleet.run(fleet.chatter(talking, first, rate))
    wait_for(first, fleet.on_desk, timeout)
    tickets = wait_for_tickets(visitors, timeout)
    if not tickets:
        raise BenchWorkerError("no visitor's message opened a ticket")
    # Visitors go on writing while the agents reply: both ways at once.
    more = [f"Bench more {run} {n}" for n in range(replies)] if visitor_rate else []
    chatter = fleet.start(fleet.chatter(talking, more, visitor_rate)) if more else None
    texts = [f"Bench reply {run} {n}" for n in range(replies)]
    sent, calls, reply_rate = reply_at_rate(
        tickets=tickets, author=agent, texts=texts, rate=rate
    )
    if chatter:
        chatter.result(timeout)
    wait_for(texts, fleet.on_widget, timeout)
    wait_for(more, fleet.on_desk, timeout)
    stored, relayed = reply_legs(sent, fleet.on_widget)
    said = fleet.said
    return Talk(
        conversations=len(visitors),
        tickets=len(tickets),
        first_messages=latencies({t: said[t] for t in first}, fleet.on_desk),
        replies=latencies(sent, fleet.on_widget),
        reply_rate=reply_rate,
        reply_calls=Latencies(sent=len(calls), samples=tuple(calls.values())),
        reply_stored=stored,
        reply_relayed=relayed,
        visitor_messages=latencies({t: said[t] for t in more}, fleet.on_desk),
        visitor_rate=visitor_rate,
    )


def measure_widget(
    *,
    sockets: int,
    conversations: int,
    replies: int,
    rate: float,
    visitor_rate: float,
    concurrency: int,
    log_dir: Path,
    server_env=None,
    timeout: float = 120.0,
    open_parallel: int = OPEN_PARALLEL,
) -> tuple[Holding, Talk]:
    if not 1 <= conversations <= sockets or replies < 1 or rate <= 0:
        raise BenchWorkerError("the widget bench needs 1 to `sockets` conversations")
    run = uuid.uuid4().hex[:10]
    queue = f"bench-widget-{run}"
    inbox = bench_inbox()
    agent = bench_supervisor()
    visitors = make_visitors(inbox, WARMUP_SOCKETS + sockets, run)
    tokens = [issue_token(visitor) for visitor in visitors]
    with (
        open_file_limit_raised(),
        # do_reply queues the send from this process.
        bench_queue(queue),
        BenchWorker(
            queue=queue, concurrency=concurrency, log_path=log_dir / "worker-widget.log"
        ),
        BenchServer(
            queue=queue, log_path=log_dir / "daphne-widget.log", extra_env=server_env
        ) as server,
    ):
        fleet = Fleet(host=server.host, port=server.port, slug=inbox.slug)
        try:
            held = hold(
                fleet,
                pid=server.process.pid,
                warmup=tokens[:WARMUP_SOCKETS],
                parallel=open_parallel,
                tokens=tokens[WARMUP_SOCKETS:],
            )
            started = time.perf_counter()
            # The visitors whose sockets opened, and those sockets.
            pairs = [
                (visitor, fleet.widget_for[token])
                for visitor, token in zip(visitors, tokens, strict=True)
                if token in fleet.widget_for
            ][:conversations]
            if len(pairs) < conversations:
                raise BenchWorkerError(
                    f"only {held.opened} sockets opened: {held.errors[:3]}"
                )
            talked = talk(
                fleet,
                run=run,
                agent=agent,
                visitors=[visitor for visitor, _ in pairs],
                talking=[socket for _, socket in pairs],
                replies=replies,
                rate=rate,
                visitor_rate=visitor_rate,
                timeout=timeout,
            )
            held = replace(
                held,
                held_at_end=fleet.held(),
                held_seconds=time.perf_counter() - started + SETTLE_SECONDS,
            )
        finally:
            fleet.close()
    return held, talked
