"""Retention: data older than the configured ages goes, a batch at a time.

- Attachments of events older than RETENTION_ATTACHMENT_DAYS are deleted.
- Tickets resolved or closed longer ago than RETENTION_RESOLVED_TICKET_DAYS
  are emptied as an erasure empties them (tickets.actions.erasure.scrub_tickets):
  subject, words and attachments of their events go, and the apps above have
  their hooks empty what they keep (chat entries, raw payloads, webhook
  deliveries). The ticket, its events' kinds, channels and times, its status
  and its route ledger stay, so counts and reports keep adding up. The customer
  is not touched: they may have newer tickets.
- Raw inbound payloads older than RETENTION_INBOUND_DAYS are deleted by
  channels_app (settings.RETENTION_HOOKS), never a record still waiting.

An age of 0 keeps that kind forever, the default. A real run that purged
anything writes one audit entry with the counts.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from supportdesk.audit import record_audit
from supportdesk.locks import lock_rows
from supportdesk.models import AuditEntry
from tickets.actions.erasure import (
    ErasureSubject,
    hook,
    run_erasure_hooks,
    scrub_tickets,
)
from tickets.models import Attachment, Ticket, TicketStatus, TimelineEvent

# What an emptied ticket's resolution note says.
PURGED_NOTE = "Emptied by the retention policy."
_DONE = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


@dataclass
class RetentionRun:
    """What a run purged, or with dry_run, what it would purge."""

    dry_run: bool
    # The kind's cutoff (things older go), or None where it is kept forever.
    cutoffs: dict[str, datetime | None]
    counts: dict[str, int] = field(default_factory=dict)


def _cutoff(days: int, now: datetime) -> datetime | None:
    return now - timedelta(days=days) if days else None


def expired_attachments(cutoff: datetime) -> QuerySet[Attachment]:
    return Attachment.objects.filter(event__occurred_at__lt=cutoff)


def expired_tickets(cutoff: datetime) -> QuerySet[Ticket]:
    """Resolved or closed before the cutoff, still holding words or files."""
    events_with_content = TimelineEvent.objects.filter(ticket=OuterRef("pk")).filter(
        ~Q(text="")
        | ~Q(html="")
        | ~Q(quoted_text="")
        | ~Q(subject="")
        | ~Q(sender_name="")
        | Exists(Attachment.objects.filter(event=OuterRef("pk")))
    )
    return Ticket.objects.filter(status__in=_DONE, resolved_at__lt=cutoff).filter(
        ~Q(subject="") | Exists(events_with_content)
    )


def do_purge_retention(
    *, dry_run: bool, now: datetime | None = None, batch_size: int | None = None
) -> RetentionRun:
    """Purge, or count with dry_run, everything older than its retention age."""
    now = now or timezone.now()
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    run = RetentionRun(
        dry_run=dry_run,
        cutoffs={
            "attachments": _cutoff(settings.RETENTION_ATTACHMENT_DAYS, now),
            "tickets": _cutoff(settings.RETENTION_RESOLVED_TICKET_DAYS, now),
            "inbound_records": _cutoff(settings.RETENTION_INBOUND_DAYS, now),
        },
    )
    if (cutoff := run.cutoffs["attachments"]) is not None:
        run.counts["attachments"] = (
            expired_attachments(cutoff).count()
            if dry_run
            else _purge_attachments(cutoff, batch_size)
        )
    for path in settings.RETENTION_HOOKS:
        found = hook(path)(
            older_than=run.cutoffs["inbound_records"],
            dry_run=dry_run,
            batch_size=batch_size,
        )
        for name, count in found.items():
            run.counts[name] = run.counts.get(name, 0) + count
    # Tickets last: what the kinds above purge on their own is counted there.
    if (cutoff := run.cutoffs["tickets"]) is not None:
        run.counts["tickets"] = (
            expired_tickets(cutoff).count()
            if dry_run
            else _purge_tickets(cutoff, batch_size)
        )
    if not dry_run and any(run.counts.values()):
        record_audit(
            action=AuditEntry.Action.RETENTION_PURGED,
            actor_name="retention policy",
            reason="Older than the retention ages.",
            details={
                **run.counts,
                "cutoffs": {
                    kind: cutoff.isoformat() if cutoff else None
                    for kind, cutoff in run.cutoffs.items()
                },
            },
        )
    return run


def _purge_attachments(cutoff: datetime, batch_size: int) -> int:
    deleted = 0
    while batch := list(
        expired_attachments(cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    ):
        count, _ = Attachment.objects.filter(pk__in=batch).delete()
        deleted += count
    return deleted


def _purge_tickets(cutoff: datetime, batch_size: int) -> int:
    purged = 0
    while batch := list(
        expired_tickets(cutoff).order_by("pk").values_list("pk", flat=True)[:batch_size]
    ):
        purged += _purge_ticket_batch(batch, cutoff)
    return purged


@transaction.atomic
def _purge_ticket_batch(ticket_ids: list[int], cutoff: datetime) -> int:
    # Locked, then checked again: a ticket reopened meanwhile is kept.
    tickets = lock_rows(
        Ticket.objects.filter(
            pk__in=ticket_ids, status__in=_DONE, resolved_at__lt=cutoff
        ).only("pk")
    )
    ids = tuple(ticket.pk for ticket in tickets)
    if not ids:
        # Each was reopened meanwhile; the next batch's query skips them.
        return 0
    event_ids = tuple(
        TimelineEvent.objects.filter(ticket_id__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    run_erasure_hooks(
        ErasureSubject(customer_ids=(), ticket_ids=ids, event_ids=event_ids)
    )
    scrub_tickets(ticket_ids=ids, event_ids=event_ids, note=PURGED_NOTE)
    return len(ids)
