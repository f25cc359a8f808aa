"""The one path by which anything from outside reaches a customer's timeline.

receive_inbound() stores the raw payload and wakes a worker; process_inbound() and
drain_inbound() claim stored records, parse each with the channel's adapter and hand
each parsed item to the tickets action that records it (do_record_inbound for
messages and calls), in one transaction per record.
"""

import hashlib
import json
import logging
import threading
import time
import uuid
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import F, Q
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

    The same (channel, external_id) delivered again returns the stored record; it
    is queued again only if it is still waiting. Without an external id the
    payload's hash stands for it.
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
        record = InboundRecord.objects.get(channel=channel, external_id=external_id)
        if is_waiting(record):
            # Delivered again while nobody works on it (its wake-up was lost, say):
            # wake a worker once more rather than only answering "duplicate".
            _wake(record.pk)
        return record, False
    _wake(record.pk)
    return record, True


def _wake(record_id: int) -> None:
    # By name: the task's module imports this one. Should the broker be away the
    # record still waits in the table, where the sweep finds it.
    enqueue_on_commit("channels_app.process_inbound", record_id)


def submit_message(message: InboundMessage) -> tuple[InboundRecord, bool]:
    """Receive a message that is already normalised (imports, bots, demo data)."""
    return receive_inbound(
        channel="api",
        payload=json.dumps(message.to_json()).encode(),
        external_id=f"{message.channel}:{message.external_id}"
        if message.external_id
        else "",
    )


# ----------------------------------------------------------------- the claims
# The table of records is the queue. A worker claims records (status `processing`,
# a claim time and a token) in a short transaction of its own, then parses each
# one with no transaction open (media downloads can be slow), then applies it in a
# transaction that locks the record and checks the claim is still its own. A worker
# that dies leaves its claims to run out; whoever takes one over after the lease
# does the work, and the one that lost it writes nothing: each record is applied
# exactly once.

Status = InboundRecord.Status


def _lease() -> timedelta:
    return timedelta(seconds=settings.INBOUND_LEASE_SECONDS)


def _waiting(now) -> Q:
    """Records nobody is working on: received, or under a claim that ran out."""
    return Q(status__in=[Status.RECEIVED, Status.PROCESSING]) & (
        Q(status=Status.RECEIVED) | Q(claimed_at__lt=now - _lease())
    )


def is_waiting(record: InboundRecord) -> bool:
    if record.status == Status.RECEIVED:
        return True
    return (
        record.status == Status.PROCESSING
        and record.claimed_at is not None
        and record.claimed_at < timezone.now() - _lease()
    )


def _claim(condition: Q, limit: int, *, afresh: bool = False) -> tuple[str, list[int]]:
    """Take up to `limit` records matching `condition`, oldest first, skipping any
    another worker is claiming this instant. `afresh` (a supervisor's replay)
    counts attempts from one again, so a replayed record gets every retry."""
    token = uuid.uuid4().hex
    with transaction.atomic():
        ids = list(
            InboundRecord.objects.filter(condition)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            InboundRecord.objects.filter(pk__in=ids).update(
                status=Status.PROCESSING,
                claimed_at=timezone.now(),
                claim_token=token,
                attempts=F("attempts") + 1,
            )
    return token, ids


def process_inbound(record_id: int, *, replay: bool = False) -> InboundRecord:
    """Process one stored record now, unless it is done or in a worker's hands.

    With `replay`, a failed or unsupported record is processed again too (a
    supervisor's replay). A failure is written on the record.
    """
    condition = _waiting(timezone.now())
    if replay:
        condition |= Q(status__in=[Status.FAILED, Status.UNSUPPORTED])
    token, ids = _claim(Q(pk=record_id) & condition, 1)
    if not ids:
        return InboundRecord.objects.defer("payload").get(pk=record_id)
    return _process_claimed(record_id, token)


def drain_inbound(*, older_than: float = 0.0, budget: float | None = None) -> int:
    """Claim and process waiting records, a batch at a time, until none is left
    or `budget` seconds have passed; returns how many were processed.

    `older_than` leaves alone records received in the last so many seconds: their
    own wake-up is on its way.
    """
    started = time.monotonic()
    budget = settings.INBOUND_LEASE_SECONDS / 2 if budget is None else budget
    done = 0
    while time.monotonic() - started < budget:
        now = timezone.now()
        condition = _waiting(now) & Q(attempts__lt=settings.INBOUND_MAX_ATTEMPTS)
        if older_than:
            condition &= Q(received_at__lt=now - timedelta(seconds=older_than))
        token, ids = _claim(condition, settings.INBOUND_CLAIM_BATCH)
        if not ids:
            break
        renewed = time.monotonic()
        for position, record_id in enumerate(ids):
            if time.monotonic() - renewed > settings.INBOUND_LEASE_SECONDS / 3:
                # Slow records ahead: keep the claim on the rest from running out.
                InboundRecord.objects.filter(
                    pk__in=ids[position:], claim_token=token, status=Status.PROCESSING
                ).update(claimed_at=timezone.now())
                renewed = time.monotonic()
            _process_claimed(record_id, token)
            done += 1
    return done


def give_up_exhausted() -> list[int]:
    """Mark failed the waiting records claimed INBOUND_MAX_ATTEMPTS times: each
    time their worker died, timed out or lost the database. They stay visible and
    can be replayed."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            InboundRecord.objects.filter(
                _waiting(now), attempts__gte=settings.INBOUND_MAX_ATTEMPTS
            )
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        for record in InboundRecord.objects.filter(pk__in=ids):
            reason = record.error or "its worker stopped or timed out each time"
            _mark(
                record,
                Status.FAILED,
                error=f"Gave up after {record.attempts} attempts: {reason}"[:10_000],
            )
    if ids:
        logger.error("inbound records %s failed after every attempt", ids)
    return ids


def waiting_count(*, older_than: float) -> int:
    now = timezone.now()
    return InboundRecord.objects.filter(
        _waiting(now), received_at__lt=now - timedelta(seconds=older_than)
    ).count()


def _process_claimed(record_id: int, token: str) -> InboundRecord:
    try:
        record = InboundRecord.objects.get(pk=record_id)
        inbox = _inbox_of(record)
        adapter = get_adapter(record.channel)
        # Outside any transaction: a slow provider's media holds no lock. The
        # claim is renewed meanwhile, so a long download is not taken over.
        with _keeping_claim(record_id, token):
            items = list(adapter.parse(bytes(record.payload), inbox=inbox))
        with transaction.atomic():
            # The payload was read above: the lock needs the claim, not the bytes.
            record = (
                InboundRecord.objects.select_for_update()
                .defer("payload")
                .get(pk=record_id)
            )
            if not _holds(record, token):
                return record  # taken over after the lease: the other worker does it
            event_ids = []
            for item in items:
                event = _APPLY[type(item)](item, inbox)
                if event is not None:
                    adapter.applied(item, event)
                    event_ids.append(event.pk)
            _mark(record, Status.PROCESSED, event_ids=event_ids)
            return record
    except UnsupportedEventError as exc:
        return _settle(record_id, token, Status.UNSUPPORTED, exc)
    except DatabaseError as exc:
        if not isinstance(exc, OperationalError | InterfaceError):
            logger.warning("inbound record %s failed: %s", record_id, exc)
            return _settle(record_id, token, Status.FAILED, exc)
        # A deadlock or a lost connection: the record waits for another try.
        logger.warning("inbound record %s will be tried again: %s", record_id, exc)
        _drop_broken_connection()
        return _settle(record_id, token, Status.RECEIVED, exc)
    except Exception as exc:
        logger.warning("inbound record %s failed: %s", record_id, exc)
        return _settle(record_id, token, Status.FAILED, exc)


@contextmanager
def _keeping_claim(record_id: int, token: str):
    """Renew a claim every third of a lease until the block ends, from a thread
    of its own (with its own connection); a fast record ends it before the first
    renewal, which then costs nothing."""
    stop = threading.Event()
    interval = settings.INBOUND_LEASE_SECONDS / 3

    def renew() -> None:
        try:
            while not stop.wait(interval):
                InboundRecord.objects.filter(
                    pk=record_id, claim_token=token, status=Status.PROCESSING
                ).update(claimed_at=timezone.now())
        except DatabaseError:
            logger.warning("could not renew the claim on record %s", record_id)
        finally:
            connection.close()

    threading.Thread(target=renew, name="claim-renewal", daemon=True).start()
    try:
        yield
    finally:
        stop.set()


def _drop_broken_connection() -> None:
    """Close a connection the server cut, so the next query opens another."""
    if connection.in_atomic_block or connection.connection is None:
        return
    if not connection.is_usable():
        connection.close()


def _holds(record: InboundRecord, token: str) -> bool:
    return record.status == Status.PROCESSING and record.claim_token == token


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
    record.processed_at = timezone.now() if status != Status.RECEIVED else None
    record.event_ids = list(event_ids)
    record.save(update_fields=["status", "error", "processed_at", "event_ids"])


def _settle(record_id: int, token: str, status: str, exc: Exception) -> InboundRecord:
    """Write the outcome of a claim that did not process its record, if the claim
    is still this worker's; when the database cannot be reached the claim is left
    to run out, and the sweep takes the record again."""
    error = f"{type(exc).__name__}: {exc}"
    try:
        with transaction.atomic():
            record = (
                InboundRecord.objects.select_for_update()
                .defer("payload")
                .get(pk=record_id)
            )
            if _holds(record, token):
                _mark(record, status, error=error)
            return record
    except DatabaseError:
        logger.warning("inbound record %s left to its lease: %s", record_id, error)
        _drop_broken_connection()
        return InboundRecord(
            pk=record_id, status=Status.PROCESSING, claim_token=token, error=error
        )
