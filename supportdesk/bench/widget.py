"""Chat widget load: the sockets one server process holds, and how fast an agent's
reply reaches the visitor while conversations go on.

daphne serves the desk in a subprocess with the Redis channel layer, and a Celery
worker on a queue of its own sends the replies and ingests what visitors write, as
in production. Visitors are rows made here in bulk; each socket completes the
widget's hello with a token issued for its visitor (supportdesk/bench/
widget_sockets.py holds the bench's end of the sockets).

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
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.test import Client

from channels_app.models import ChatVisitor, Inbox
from channels_app.widget.entries import visitor_conversation_key
from channels_app.widget.tokens import issue_token
from supportdesk.bench.ingest import BenchWorker, use_queue
from supportdesk.bench.processes import BenchWorkerError
from supportdesk.bench.report import Report
from supportdesk.bench.timeline import bench_supervisor
from supportdesk.bench.webhook import BenchServer
from supportdesk.bench.widget_sockets import (
    HANDSHAKE_TIMEOUT,
    Fleet,
    Latencies,
    latencies,
    wait_for,
)
from tickets.actions.tickets import do_reply
from tickets.models import OPEN_STATUSES, Ticket

INBOX_SLUG = "bench-chat"
SOCKETS_TARGET = 2000
REPLY_P95_TARGET_MS = 100.0
WARMUP_SOCKETS = 20
# The server finishes with the handshakes before its memory is read.
SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class WidgetResult:
    requested: int
    opened: int
    open_errors: tuple[str, ...]
    open_seconds: float
    handshake: Latencies
    # Still open on the bench's side once every socket had been opened, and at
    # the end, so many seconds later.
    held: int
    held_at_end: int
    held_seconds: float
    server_open_files: tuple[int, int]
    server_file_limit: int
    rss_before_kib: int
    rss_after_kib: int
    conversations: int
    tickets: int
    first_messages: Latencies
    replies: Latencies
    reply_rate: float
    visitor_messages: Latencies
    visitor_rate: float

    @property
    def kib_per_socket(self) -> float:
        if not self.opened:
            return 0.0
        return (self.rss_after_kib - self.rss_before_kib) / self.opened


def raise_open_file_limit() -> int:
    """Let this process, and the server and worker it starts later (they inherit
    the limit), hold as many files as the hard limit allows; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


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
) -> tuple[dict[str, float], float]:
    """Agent replies round the tickets, each due at a steady rate; when each
    do_reply began, and the rate the replies went out at."""
    started = time.perf_counter()
    sent: dict[str, float] = {}
    for number, text in enumerate(texts):
        pause = started + number / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        sent[text] = time.perf_counter()
        do_reply(ticket=tickets[number % len(tickets)], author=author, text=text)
    seconds = time.perf_counter() - started
    return sent, (len(texts) - 1) / seconds if len(texts) > 1 else 0.0


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
) -> WidgetResult:
    if not 1 <= conversations <= sockets or replies < 1 or rate <= 0:
        raise BenchWorkerError("the widget bench needs 1 to `sockets` conversations")
    raise_open_file_limit()
    run = uuid.uuid4().hex[:10]
    queue = f"bench-widget-{run}"
    # do_reply queues the send from this process.
    use_queue(queue)
    inbox = bench_inbox()
    agent = bench_supervisor()
    visitors = make_visitors(inbox, WARMUP_SOCKETS + sockets, run)
    warmup, visitors = visitors[:WARMUP_SOCKETS], visitors[WARMUP_SOCKETS:]
    with (
        BenchWorker(
            queue=queue, concurrency=concurrency, log_path=log_dir / "worker-widget.log"
        ),
        BenchServer(
            queue=queue, log_path=log_dir / "daphne-widget.log", extra_env=server_env
        ) as server,
    ):
        pid = server.process.pid
        fleet = Fleet(host=server.host, port=server.port, slug=inbox.slug)
        try:
            # The first sockets import the consumer and fill the server's pools.
            fleet.run(fleet.open_widgets([issue_token(v) for v in warmup], keep=False))
            time.sleep(SETTLE_SECONDS)
            rss_before, files_before = rss_kib(pid), open_files(pid)
            tokens = [issue_token(visitor) for visitor in visitors]
            started = time.perf_counter()
            held, handshakes, errors = fleet.run(fleet.open_widgets(tokens))
            opened_at = time.perf_counter()
            open_seconds = opened_at - started
            time.sleep(SETTLE_SECONDS)
            rss_after, files_after = rss_kib(pid), open_files(pid)
            still_open, limit = fleet.held(), file_limit(pid)
            if len(held) < conversations:
                raise BenchWorkerError(
                    f"only {len(held)} sockets opened: {sorted(set(errors))[:3]}"
                )

            fleet.run(fleet.open_desk(desk_cookie(agent)), timeout=HANDSHAKE_TIMEOUT)
            talking = held[:conversations]
            first = [f"Bench hello {run} {n}" for n in range(conversations)]
            fleet.run(fleet.chatter(talking, first, rate))
            wait_for(first, fleet.on_desk, timeout)
            tickets = wait_for_tickets(visitors[:conversations], timeout)
            if not tickets:
                raise BenchWorkerError(f"no message opened a ticket; see {log_dir}")

            # Visitors go on writing while the agents reply: both ways at once.
            more = [f"Bench more {run} {n}" for n in range(replies)]
            if visitor_rate <= 0:
                more = []
            chatter = (
                fleet.start(fleet.chatter(talking, more, visitor_rate))
                if more
                else None
            )
            texts = [f"Bench reply {run} {n}" for n in range(replies)]
            sent, reply_rate = reply_at_rate(
                tickets=tickets, author=agent, texts=texts, rate=rate
            )
            if chatter:
                chatter.result(timeout)
            wait_for(texts, fleet.on_widget, timeout)
            wait_for(more, fleet.on_desk, timeout)
            held_at_end = fleet.held()
            held_seconds = time.perf_counter() - opened_at
        finally:
            fleet.close()
    said = fleet.said
    return WidgetResult(
        requested=sockets,
        opened=len(held),
        open_errors=tuple(sorted(set(errors))),
        open_seconds=open_seconds,
        handshake=Latencies(sent=len(tokens), samples=tuple(handshakes)),
        held=still_open,
        held_at_end=held_at_end,
        held_seconds=held_seconds,
        server_open_files=(files_before, files_after),
        server_file_limit=limit,
        rss_before_kib=rss_before,
        rss_after_kib=rss_after,
        conversations=conversations,
        tickets=len(tickets),
        first_messages=latencies({t: said[t] for t in first}, fleet.on_desk),
        replies=latencies(sent, fleet.on_widget),
        reply_rate=reply_rate,
        visitor_messages=latencies({t: said[t] for t in more}, fleet.on_desk),
        visitor_rate=visitor_rate,
    )


def add_figures(report: Report, result: WidgetResult) -> None:
    report.context["widget"] = {
        "sockets": result.requested,
        "opened": result.opened,
        "open_errors": list(result.open_errors[:10]),
        "handshake_p50_ms": round(result.handshake.ms(0.5), 2),
        "handshake_p95_ms": round(result.handshake.ms(0.95), 2),
        "server_open_files": list(result.server_open_files),
        "server_file_limit": result.server_file_limit,
        "rss_kib": [result.rss_before_kib, result.rss_after_kib],
        "conversations": result.conversations,
        "reply_rate": round(result.reply_rate, 2),
        "visitor_rate": result.visitor_rate,
    }
    report.add(
        "widget sockets open at once (one daphne)",
        f"{result.held:,} of {result.requested:,}",
        f">= {SOCKETS_TARGET:,}",
        result.held == result.requested >= SOCKETS_TARGET,
        number=result.held,
    )
    report.add(
        f"widget sockets still open {result.held_seconds:.0f} s later",
        f"{result.held_at_end:,} of {result.held:,}",
        "all",
        result.held_at_end == result.held,
        number=result.held_at_end,
    )
    report.add(
        f"widget: time to open {result.opened:,} sockets (hello → synced)",
        f"{result.open_seconds:.1f} s",
        number=round(result.open_seconds, 2),
    )
    before, after = result.rss_before_kib / 1024, result.rss_after_kib / 1024
    report.add("widget: server RSS before / after", f"{before:.0f} / {after:.0f} MiB")
    report.add(
        "widget: server memory per socket",
        f"{result.kib_per_socket:.0f} KiB",
        number=round(result.kib_per_socket, 1),
    )
    report.add(
        "widget: conversations with an open ticket",
        f"{result.tickets} of {result.conversations}",
        "all",
        result.tickets == result.conversations,
        number=result.tickets,
    )
    replies = result.replies
    p50, p95, top = (replies.ms(f) for f in (0.5, 0.95, 1.0))
    report.add(
        f"widget reply → visitor socket: p50 ({result.conversations} chats)",
        f"{p50:.1f} ms",
        number=round(p50, 2),
    )
    report.add(
        "widget reply → visitor socket: p95",
        f"{p95:.1f} ms",
        f"< {REPLY_P95_TARGET_MS:.0f} ms",
        replies.arrived == replies.sent and p95 < REPLY_P95_TARGET_MS,
        number=round(p95, 2),
    )
    report.add("widget reply → visitor socket: max", f"{top:.1f} ms", number=top)
    report.add(
        f"widget replies arrived (sent at {result.reply_rate:.1f}/s)",
        f"{replies.arrived:,} of {replies.sent:,}",
        "all",
        replies.arrived == replies.sent,
        number=replies.arrived,
    )
    for label, latency in (
        ("first visitor messages (open tickets)", result.first_messages),
        (f"visitor messages at {result.visitor_rate:g}/s", result.visitor_messages),
    ):
        if not latency.sent:
            continue
        report.add(
            f"widget {label} → desk socket: p50 / p95",
            f"{latency.ms(0.5):.1f} / {latency.ms(0.95):.1f} ms",
            number=round(latency.ms(0.95), 2),
        )
        report.add(
            f"widget {label}: arrived",
            f"{latency.arrived:,} of {latency.sent:,}",
            "all",
            latency.arrived == latency.sent,
            number=latency.arrived,
        )
