"""The one path by which anything from outside reaches a customer's timeline.

receive_inbound() stores the raw payload and queues it; process_inbound() parses it
with the channel's adapter and hands each parsed item to the tickets action that
records it (do_record_inbound for messages and calls), in one transaction.
"""

import hashlib
import json
import logging
from contextlib import nullcontext
from dataclasses import replace

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from channels_app.models import InboundRecord, Inbox
from supportdesk.oncommit import enqueue_on_commit
from supportdesk.registry import get_adapter
from tickets.actions.calls import do_attach_call_recording
from tickets.actions.delivery import do_apply_delivery_update, do_apply_revision
from tickets.actions.inbound import do_record_inbound
from tickets.actions.ratings import do_rate_ticket
from tickets.inbound import (
    CallRecording,
    ConversationRating,
    DeliveryUpdate,
    InboundError,
    InboundMessage,
    MessageRevision,
    UnsupportedEventError,
)
from tickets.models import (
    TimelineEvent,
)

logger = logging.getLogger(__name__)


class PayloadTooLargeError(InboundError):
    pass


# ---------------------------------------------------------------------- the door


def receive_inbound(
    *,
    channel: str,
    payload: bytes,
    external_id: str = "",
    inbox: str = "",
    content_type: str = "application/json",
) -> tuple[InboundRecord, bool]:
    """Store a raw payload once and queue it for processing.

    The same (channel, external_id) delivered again returns the stored record and
    queues nothing. Without an external id the payload's hash stands for it.
    """
    if len(payload) > settings.MAX_INBOUND_PAYLOAD_BYTES:
        raise PayloadTooLargeError(
            f"payload of {len(payload)} bytes exceeds the limit of "
            f"{settings.MAX_INBOUND_PAYLOAD_BYTES}"
        )
    external_id = (external_id or "sha256:" + hashlib.sha256(payload).hexdigest())[:255]
    # Alone, the INSERT is a transaction of its own; within the caller's, a
    # savepoint keeps a duplicate from spoiling it.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            record = InboundRecord.objects.create(
                channel=channel,
                external_id=external_id,
                inbox=inbox,
                content_type=content_type,
                payload=payload,
            )
    except IntegrityError:
        return InboundRecord.objects.get(
            channel=channel, external_id=external_id
        ), False
    # By name: the task's module imports this one.
    enqueue_on_commit("channels_app.process_inbound", record.pk)
    return record, True


def submit_message(message: InboundMessage) -> tuple[InboundRecord, bool]:
    """Receive a message that is already normalised (imports, bots, demo data)."""
    return receive_inbound(
        channel="api",
        payload=json.dumps(message.to_json()).encode(),
        external_id=f"{message.channel}:{message.external_id}"
        if message.external_id
        else "",
    )


def process_inbound(record_id: int) -> InboundRecord:
    """Parse and ingest a stored payload; a failure is written on the record."""
    try:
        with transaction.atomic():
            record = InboundRecord.objects.select_for_update().get(pk=record_id)
            if record.status == InboundRecord.Status.PROCESSED:
                return record
            inbox = _inbox_of(record)
            adapter = get_adapter(record.channel)
            event_ids = []
            for item in adapter.parse(bytes(record.payload), inbox=inbox):
                event = _APPLY[type(item)](item, inbox)
                if event is not None:
                    adapter.applied(item, event)
                    event_ids.append(event.pk)
            _mark(record, InboundRecord.Status.PROCESSED, event_ids=event_ids)
            return record
    except UnsupportedEventError as exc:
        return _mark_after_rollback(record_id, InboundRecord.Status.UNSUPPORTED, exc)
    except OperationalError as exc:
        # A deadlock or a lost connection: written down, then raised so the task
        # retries; the record stays replayable should the retries run out.
        _mark_after_rollback(record_id, InboundRecord.Status.FAILED, exc)
        raise
    except Exception as exc:
        logger.warning("inbound record %s failed: %s", record_id, exc)
        return _mark_after_rollback(record_id, InboundRecord.Status.FAILED, exc)


def _inbox_of(record: InboundRecord) -> Inbox | None:
    if not record.inbox:
        return None
    return Inbox.objects.filter(adapter=record.channel, slug=record.inbox).first()


def ingest(message: InboundMessage, *, inbox: Inbox | None = None) -> TimelineEvent:
    """Put one parsed message on its customer's timeline, through the tickets
    action every message and call from outside goes through."""
    if inbox is not None and not message.inbox:
        message = replace(message, inbox=inbox.slug)
    return do_record_inbound(message=message, inbox=inbox)


# What each kind of parsed item does; each returns the event it wrote or changed.
_APPLY = {
    InboundMessage: lambda message, inbox: ingest(message, inbox=inbox),
    DeliveryUpdate: lambda update, inbox: do_apply_delivery_update(update=update),
    MessageRevision: lambda revision, inbox: do_apply_revision(revision=revision),
    CallRecording: lambda recording, inbox: do_attach_call_recording(
        recording=recording
    ),
    ConversationRating: lambda rating, inbox: do_rate_ticket(
        ticket_id=rating.ticket_id,
        score=rating.score,
        comment=rating.comment,
        channel=rating.channel,
    ),
}


def _mark(record: InboundRecord, status: str, *, error: str = "", event_ids=()) -> None:
    record.status = status
    record.error = error
    record.attempts += 1
    record.processed_at = timezone.now()
    record.event_ids = list(event_ids)
    record.save(
        update_fields=["status", "error", "attempts", "processed_at", "event_ids"]
    )


def _mark_after_rollback(record_id: int, status: str, exc: Exception) -> InboundRecord:
    with transaction.atomic():
        record = InboundRecord.objects.select_for_update().get(pk=record_id)
        if record.status != InboundRecord.Status.PROCESSED:
            _mark(record, status, error=f"{type(exc).__name__}: {exc}")
        return record
