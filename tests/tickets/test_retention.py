"""Retention: what is older than its age goes, in batches; a dry run only says so;
records still waiting and newer data stay."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from channels_app.models import InboundRecord
from supportdesk.models import AuditEntry
from tests.helpers import deliver, message
from tickets.actions.retention import do_purge_retention
from tickets.actions.tickets import do_resolve_ticket
from tickets.inbound import InboundAttachment
from tickets.models import Attachment, RouteChange, Ticket, TimelineEvent

pytestmark = pytest.mark.django_db


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def mail(address: str, words: str) -> Ticket:
    record = deliver(
        message(
            "email",
            ("email", address),
            subject=words,
            text=words,
            attachments=(
                InboundAttachment(
                    name="scan.pdf", content_type="application/pdf", content=b"%PDF"
                ),
            ),
        )
    )
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def age(ticket: Ticket, days: int) -> None:
    """Make a ticket's mail, its raw record and its resolution this old."""
    events = TimelineEvent.objects.filter(ticket=ticket)
    for record in InboundRecord.objects.all():
        if set(record.event_ids) & set(events.values_list("pk", flat=True)):
            InboundRecord.objects.filter(pk=record.pk).update(
                received_at=days_ago(days)
            )
    events.update(occurred_at=days_ago(days))
    if ticket.resolved_at:
        Ticket.objects.filter(pk=ticket.pk).update(resolved_at=days_ago(days))


@pytest.fixture
def history(teams, supervisor, settings):
    settings.RETENTION_INBOUND_DAYS = 30
    settings.RETENTION_ATTACHMENT_DAYS = 30
    settings.RETENTION_RESOLVED_TICKET_DAYS = 30
    old_resolved = mail("old@example.com", "ancient invoice words")
    do_resolve_ticket(ticket=old_resolved, actor=supervisor, resolution_note="Refunded")
    old_open = mail("open@example.com", "still open words")
    recent_resolved = mail("recent@example.com", "recent words")
    do_resolve_ticket(ticket=recent_resolved, actor=supervisor, resolution_note="Done")
    for ticket in (old_resolved, old_open):
        ticket.refresh_from_db()
        age(ticket, 40)
    recent_resolved.refresh_from_db()
    age(recent_resolved, 5)
    # A payload received long ago that no worker has finished: work still to do.
    waiting = InboundRecord.objects.create(
        channel="email", external_id="waiting-1", payload=b"{}"
    )
    InboundRecord.objects.filter(pk=waiting.pk).update(received_at=days_ago(60))
    return {
        "old_resolved": old_resolved,
        "old_open": old_open,
        "recent_resolved": recent_resolved,
        "waiting": waiting,
    }


def test_a_dry_run_says_what_would_go_and_changes_nothing(history):
    """The dry run counts the old resolved ticket, the old attachments and the
    old finished records, and leaves every row as it was."""
    before = (
        InboundRecord.objects.count(),
        Attachment.objects.count(),
        list(Ticket.objects.values_list("subject", flat=True)),
    )
    out = StringIO()

    call_command("purge_retention", "--dry-run", stdout=out)

    text = out.getvalue()
    assert "tickets: would purge 1," in text
    assert "attachments: would purge 2," in text
    assert "inbound records: would purge 2," in text
    assert before == (
        InboundRecord.objects.count(),
        Attachment.objects.count(),
        list(Ticket.objects.values_list("subject", flat=True)),
    )
    assert not AuditEntry.objects.exists()


def test_the_real_run_purges_only_what_is_old_enough(history):
    """Old attachments and finished records go; the old resolved ticket keeps its
    status, events and route ledger but not its words; the open, the recent and
    the waiting stay as they were; the audit has the run's counts."""
    old = history["old_resolved"]
    events_before = list(
        TimelineEvent.objects.filter(ticket=old).values_list("kind", "occurred_at")
    )
    routes_before = RouteChange.objects.filter(ticket=old).count()

    run = do_purge_retention(dry_run=False, batch_size=1)

    assert run.counts == {"tickets": 1, "attachments": 2, "inbound_records": 2}
    old.refresh_from_db()
    assert old.status == "resolved" and old.subject == ""
    assert old.resolution_note == "Emptied by the retention policy."
    assert set(
        TimelineEvent.objects.filter(ticket=old).values_list("text", flat=True)
    ) == {""}
    assert (
        list(
            TimelineEvent.objects.filter(ticket=old).values_list("kind", "occurred_at")
        )
        == events_before
    )
    assert RouteChange.objects.filter(ticket=old).count() == routes_before
    assert Ticket.objects.get(pk=history["old_open"].pk).subject == "still open words"
    recent = Ticket.objects.get(pk=history["recent_resolved"].pk)
    assert recent.subject == "recent words"
    assert Attachment.objects.filter(event__ticket=recent).count() == 1
    assert InboundRecord.objects.filter(pk=history["waiting"].pk).exists()
    assert InboundRecord.objects.count() == 2
    entry = AuditEntry.objects.get(action="retention.purged")
    assert entry.details["tickets"] == 1 and entry.actor is None

    # Nothing is left to purge: a second run changes nothing and records nothing.
    assert do_purge_retention(dry_run=False).counts == {
        "tickets": 0,
        "attachments": 0,
        "inbound_records": 0,
    }
    assert AuditEntry.objects.count() == 1


def test_without_retention_ages_everything_is_kept(history, settings):
    """The default keeps everything forever."""
    settings.RETENTION_INBOUND_DAYS = 0
    settings.RETENTION_ATTACHMENT_DAYS = 0
    settings.RETENTION_RESOLVED_TICKET_DAYS = 0
    out = StringIO()

    call_command("purge_retention", stdout=out)

    assert out.getvalue().count("kept forever") == 3
    assert Attachment.objects.count() == 3
    assert InboundRecord.objects.count() == 4
