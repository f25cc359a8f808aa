"""The chat widget bench's figures, as rows of the bench's table."""

from tests.bench.report import Report
from tests.bench.widget import (
    REPLY_P95_TARGET_MS,
    SOCKETS_TARGET,
    Holding,
    Talk,
)


def add_figures(report: Report, held: Holding, talked: Talk) -> None:
    report.context["widget"] = {
        "sockets": held.requested,
        "opened": held.opened,
        "open_errors": list(held.errors[:10]),
        "handshake_p50_ms": round(held.handshake.ms(0.5), 2),
        "handshake_p95_ms": round(held.handshake.ms(0.95), 2),
        "server_open_files": list(held.open_files),
        "server_file_limit": held.file_limit,
        "server_rss_kib": list(held.rss_kib),
        "server_cpu_seconds_opening": round(held.cpu_seconds, 2),
        "conversations": talked.conversations,
        "reply_rate": round(talked.reply_rate, 2),
        "visitor_rate": talked.visitor_rate,
    }
    report.add(
        "widget sockets open at once (one daphne)",
        f"{held.held:,} of {held.requested:,}",
        f">= {SOCKETS_TARGET:,}",
        held.held == held.requested >= SOCKETS_TARGET,
        number=held.held,
    )
    report.add(
        f"widget sockets still open {held.held_seconds:.0f} s later",
        f"{held.held_at_end:,} of {held.held:,}",
        "all",
        held.held_at_end == held.held,
        number=held.held_at_end,
    )
    report.add(
        f"widget: time to open {held.opened:,} sockets (hello → synced)",
        f"{held.seconds:.1f} s",
        number=round(held.seconds, 2),
    )
    per_socket = held.cpu_seconds * 1000 / held.opened if held.opened else 0.0
    report.add(
        "widget: server CPU per socket opened",
        f"{per_socket:.1f} ms",
        number=round(per_socket, 2),
    )
    before, after = (kib / 1024 for kib in held.rss_kib)
    report.add("widget: server RSS before / after", f"{before:.0f} / {after:.0f} MiB")
    report.add(
        "widget: server memory per socket",
        f"{held.kib_per_socket:.0f} KiB",
        number=round(held.kib_per_socket, 1),
    )
    report.add(
        "widget: conversations with an open ticket",
        f"{talked.tickets} of {talked.conversations}",
        "all",
        talked.tickets == talked.conversations,
        number=talked.tickets,
    )
    replies = talked.replies
    p50, p95, top = (replies.ms(f) for f in (0.5, 0.95, 1.0))
    report.add(
        f"widget reply → visitor socket: p50 ({talked.conversations} chats)",
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
        f"widget replies arrived (sent at {talked.reply_rate:.1f}/s)",
        f"{replies.arrived:,} of {replies.sent:,}",
        "all",
        replies.arrived == replies.sent,
        number=replies.arrived,
    )
    for label, latency in (
        ("reply: do_reply itself", talked.reply_calls),
        ("reply: do_reply → entry stored by the worker", talked.reply_stored),
        ("reply: entry stored → visitor socket", talked.reply_relayed),
        ("first visitor messages (open tickets) → desk", talked.first_messages),
        (
            f"visitor messages at {talked.visitor_rate:g}/s → desk",
            talked.visitor_messages,
        ),
    ):
        if not latency.sent:
            continue
        report.add(
            f"widget {label}: p50 / p95",
            f"{latency.ms(0.5):.1f} / {latency.ms(0.95):.1f} ms",
            number=round(latency.ms(0.95), 2),
        )
    for label, latency in (
        ("first visitor messages", talked.first_messages),
        ("visitor messages", talked.visitor_messages),
    ):
        if latency.sent:
            report.add(
                f"widget {label} heard on the desk",
                f"{latency.arrived:,} of {latency.sent:,}",
                "all",
                latency.arrived == latency.sent,
                number=latency.arrived,
            )
