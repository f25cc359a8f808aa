"""Building desk state the way production does: through the ingestion path."""

import itertools

from django.db import transaction
from django.test import TestCase

from channels_app.ingest import process_inbound, submit_message
from channels_app.models import InboundRecord
from tickets.inbound import IdentityClaim, InboundMessage
from tickets.models import Ticket, TimelineEvent

_ids = itertools.count(1)


def message(
    channel: str = "email", *identities: tuple[str, str], **fields
) -> InboundMessage:
    """An inbound message; identities default to one email address."""
    claims = tuple(IdentityClaim(kind, value) for kind, value in identities) or (
        IdentityClaim("email", "ana@example.com"),
    )
    fields.setdefault("external_id", f"test-{next(_ids)}")
    fields.setdefault("text", "Hello, I need help.")
    if channel == "email":
        fields.setdefault("continues_open_conversation", False)
    return InboundMessage(channel=channel, identities=claims, **fields)


def deliver(msg: InboundMessage) -> InboundRecord:
    """Receive a message through the door and process it here, as a worker would,
    then let everything it queues run.

    It is processed before the door's transaction commits, so a test's Celery
    worker, woken by the commit, finds it done: the ticket is routed here, by the
    time deliver() returns. Tasks and events queued on commit run as they would
    after a real commit.
    """
    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        record, _ = submit_message(msg)
        record = process_inbound(record.pk)
    record.refresh_from_db()
    return record


def deliver_without_routing(msg: InboundMessage) -> Ticket:
    """Ingest a message while the route task it queues is lost: the ticket it
    opens (or continues) stays as ingestion left it."""
    with TestCase.captureOnCommitCallbacks(execute=False):
        record, _ = submit_message(msg)
        record = process_inbound(record.pk)
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket
