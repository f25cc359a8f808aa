"""The one path by which anything from outside reaches a customer's timeline.

receive_inbound() stores the raw payload and queues it; process_inbound() parses it
with the channel's adapter and hands each message to ingest(), which resolves the
customer, threads the message onto a ticket and appends it, in one transaction.
"""

import hashlib
import json
import logging
from contextlib import nullcontext
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from channels_app.models import InboundRecord, Inbox
from customers.actions import do_resolve_sender
from supportdesk.oncommit import enqueue_on_commit, run_on_commit
from supportdesk.registry import get_adapter
from supportdesk.sanitize import html_to_text, sanitize_html
from tickets.actions.calls import do_attach_call_recording
from tickets.actions.delivery import do_apply_delivery_update, do_apply_revision
from tickets.actions.ratings import do_rate_ticket
from tickets.actions.timeline import do_append_system_event, publish_event
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
    OPEN_STATUSES,
    Attachment,
    Channel,
    Ticket,
    TicketStatus,
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
    from channels_app.tasks import process_inbound

    enqueue_on_commit(process_inbound, record.pk)
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


def _ingest_from(message: InboundMessage, inbox: Inbox | None) -> TimelineEvent:
    if inbox is not None and not message.inbox:
        message = replace(message, inbox=inbox.slug)
    return ingest(message, inbox=inbox)


# What each kind of parsed item does; each returns the event it wrote or changed.
_APPLY = {
    InboundMessage: _ingest_from,
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


# ------------------------------------------------------------------------ ingest


def _check_limits(message: InboundMessage) -> None:
    limit = settings.MAX_MESSAGE_TEXT_CHARS
    for name in ("text", "html", "quoted_text"):
        size = len(getattr(message, name))
        if size > limit:
            raise InboundError(
                f"message {name} is {size} characters; the limit is {limit}"
            )


def _named_ticket(message: InboundMessage, customer) -> Ticket | None:
    """A ticket the message names: by a verified reply token, or by a ticket number
    in its subject when the sender is that ticket's customer."""
    if not (message.ticket_token or message.subject_ticket):
        return None
    tickets = Ticket.objects.exclude(status=TicketStatus.CLOSED)
    if message.ticket_token:
        ticket = tickets.filter(pk=message.ticket_token).first()
        if ticket:
            return ticket
    if message.subject_ticket:
        return tickets.filter(pk=message.subject_ticket, customer=customer).first()
    return None


def _thread(
    message: InboundMessage, customer, *, new_customer: bool = False
) -> Ticket | None:
    """The ticket this message continues, or None for a new conversation."""
    named = _named_ticket(message, customer)
    if named or new_customer:
        # A customer created by this message has no ticket of their own yet.
        return named
    if message.replies_to:
        answered = (
            TimelineEvent.objects.filter(
                external_id__in=message.replies_to,
                ticket__isnull=False,
                # Only the customer's own tickets: a message id seen in a copy of
                # a mail must not let someone else write into a ticket.
                ticket__customer=customer,
            )
            .exclude(ticket__status=TicketStatus.CLOSED)
            .select_related("ticket")
            .order_by("-occurred_at", "-id")
            .first()
        )
        if answered:
            return answered.ticket
    open_tickets = Ticket.objects.filter(
        customer=customer, channel=message.channel, status__in=OPEN_STATUSES
    ).order_by("-last_message_at", "-id")
    if message.conversation_key:
        ticket = open_tickets.filter(conversation_key=message.conversation_key).first()
        if ticket:
            return ticket
    if message.continues_open_conversation:
        since = timezone.now() - timedelta(hours=settings.REOPEN_WINDOW_HOURS)
        return open_tickets.filter(last_message_at__gte=since).first()
    return None


def _subject_for(message: InboundMessage, text: str) -> str:
    if message.subject.strip():
        return message.subject.strip()[:300]
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return (first_line[:77] + "…") if len(first_line) > 80 else first_line


# Stored as the ticket's channel: "internal" would pass for the desk's own.
_INBOUND_CHANNELS = frozenset(Channel.values) - {Channel.INTERNAL}

_EVENT_KINDS = {
    "message_in": TimelineEvent.Kind.MESSAGE_IN,
    "call": TimelineEvent.Kind.CALL,
}


class _AlreadyStored(Exception):
    pass


def ingest(message: InboundMessage, *, inbox: Inbox | None = None) -> TimelineEvent:
    """Append one inbound message to its customer's timeline. Idempotent."""
    try:
        return _ingest(message, inbox)
    except _AlreadyStored:
        # The same provider message was stored before, or arrives through another
        # door at the same time; everything this attempt wrote is rolled back.
        return TimelineEvent.objects.get(
            channel=message.channel, external_id=message.external_id[:255]
        )


@transaction.atomic
def _ingest(message: InboundMessage, inbox: Inbox | None) -> TimelineEvent:
    if not message.channel:
        raise InboundError("the message names no channel")
    if message.channel not in _INBOUND_CHANNELS:
        raise InboundError(f"unknown channel {message.channel[:40]!r}")
    if message.event_kind not in _EVENT_KINDS:
        raise InboundError(f"unknown event kind {message.event_kind[:40]!r}")
    _check_limits(message)
    # A message stored before is found by the unique constraint on its external
    # id when its event is written below: ingest() then returns the stored one.
    sender = do_resolve_sender(
        claims=message.identities,
        display_name=message.sender_name,
        language=message.language[:16],
    )
    customer = sender.customer
    clean_html = sanitize_html(message.html)
    text = message.text.strip() or html_to_text(clean_html)
    occurred_at = message.occurred_at or timezone.now()

    ticket = _thread(message, customer, new_customer=sender.new_customer)
    new_ticket = ticket is None and not message.automated
    if new_ticket:
        ticket = Ticket.objects.create(
            customer=customer,
            channel=message.channel,
            subject=_subject_for(message, text),
            language=message.language[:16],
            conversation_key=message.conversation_key[:255],
            inbox=inbox,
            last_message_at=occurred_at,
        )
    try:
        # No savepoint: on _AlreadyStored this function's own atomic block rolls
        # back everything the attempt wrote.
        with transaction.atomic(savepoint=False):
            event = TimelineEvent.objects.create(
                customer=customer,
                ticket=ticket,
                channel=message.channel,
                kind=(
                    TimelineEvent.Kind.SYSTEM
                    if message.automated
                    else _EVENT_KINDS[message.event_kind]
                ),
                inbox=inbox,
                sender_identity=sender.identity,
                sender_name=message.sender_name[:200],
                subject=message.subject[:300],
                text=text,
                quoted_text=message.quoted_text,
                html=clean_html,
                external_id=message.external_id[:255],
                metadata={**message.metadata, "replies_to": list(message.replies_to)},
                occurred_at=occurred_at,
            )
    except IntegrityError:
        raise _AlreadyStored from None
    _store_attachments(event, message)
    if ticket is not None and not message.automated and not new_ticket:
        # A ticket created above is unseen by others until commit: nothing to lock.
        _touch_ticket(ticket, occurred_at)
    # One event tells of the message and, with new_ticket, of the ticket it opened.
    publish_event(event, new_ticket=new_ticket)
    if new_ticket:
        from tickets.tasks import route_ticket

        # Routed by this worker right after the commit; the task is queued only
        # when that fails, and the sweep still finds a ticket both left unrouted.
        run_on_commit(route_ticket, ticket.pk)
    return event


def _touch_ticket(ticket: Ticket, occurred_at) -> None:
    # Re-read under the row lock: a concurrent message may have reopened it already,
    # or an agent resolved it, since the ticket was chosen.
    ticket.refresh_from_db(
        fields=["status", "last_message_at"],
        from_queryset=Ticket.objects.select_for_update(of=("self",), no_key=True),
    )
    fields = ["last_message_at", "updated_at"]
    ticket.last_message_at = max(filter(None, [ticket.last_message_at, occurred_at]))
    reopened = ticket.status in (TicketStatus.PENDING, TicketStatus.RESOLVED)
    if reopened:
        # A customer writing again wants an answer: the ticket is open again.
        previous, ticket.status = ticket.status, TicketStatus.OPEN
        fields.append("status")
    ticket.save(update_fields=fields)
    if reopened:
        do_append_system_event(
            customer=ticket.customer,
            ticket=ticket,
            kind="status_change",
            text=f"Status {previous} → open: the customer wrote again.",
            metadata={"from": previous, "to": TicketStatus.OPEN.value},
        )


def _store_attachments(event: TimelineEvent, message: InboundMessage) -> None:
    limit = settings.MAX_ATTACHMENT_BYTES
    rows, notes = [], []
    for item in message.attachments:
        too_large = len(item.content) > limit
        if too_large:
            notes.append(
                f"Attachment {item.name or '(no name)'} is {len(item.content)} bytes, "
                f"over the {limit}-byte limit: its bytes stay in the raw inbound "
                "record."
            )
        rows.append(
            Attachment(
                event=event,
                name=item.name[:255],
                content_type=item.content_type[:127],
                size=len(item.content),
                sha256=item.sha256,
                content_id=item.content_id[:255],
                inline=item.inline,
                data=b"" if too_large else item.content,
            )
        )
    if rows:
        Attachment.objects.bulk_create(rows)
    if notes:
        # After any notes the adapter made (media it did not download, say).
        event.metadata["notes"] = [*event.metadata.get("notes", []), *notes]
        event.save(update_fields=["metadata"])
