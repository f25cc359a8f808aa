"""Thin Celery tasks: ids in, one action called, safe to run twice."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from supportdesk.registry import sending_adapter
from tickets.actions.delivery import (
    do_record_send_attempt,
    do_record_send_failure,
    do_record_send_started,
    do_record_sent,
)
from tickets.actions.retention import do_purge_retention
from tickets.actions.routing import do_route_ticket
from tickets.invitations import send_invitation_mail
from tickets.models import Invitation, Ticket, TimelineEvent
from tickets.outbound import DeliveryRefusedError, OutboundMessage

logger = logging.getLogger(__name__)


@shared_task(
    name="tickets.route_ticket",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=8,
    time_limit=60,
    soft_time_limit=50,
)
def route_ticket(ticket_id: int) -> int | None:
    change = do_route_ticket(ticket_id=ticket_id)
    return change.to_team_id if change else None


@shared_task(name="tickets.sweep_unrouted", time_limit=300, soft_time_limit=280)
def sweep_unrouted(limit: int = 1000) -> int:
    """Route every ticket a lost task left without an owner."""
    cutoff = timezone.now() - timedelta(seconds=settings.ROUTING_SWEEP_AFTER_SECONDS)
    ids = list(
        Ticket.objects.filter(routed_at__isnull=True, created_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    routed = 0
    for ticket_id in ids:
        try:
            routed += do_route_ticket(ticket_id=ticket_id) is not None
        except Exception:
            logger.exception("sweep could not route ticket %s", ticket_id)
    if ids:
        logger.warning("sweep routed %d of %d stranded tickets", routed, len(ids))
    return routed


@shared_task(name="tickets.purge_retention", time_limit=3600, soft_time_limit=3500)
def purge_retention() -> dict[str, int]:
    """Purge what is older than the retention ages (settings.RETENTION_*)."""
    return do_purge_retention(dry_run=False).counts


@shared_task(
    name="tickets.send_outbound",
    bind=True,
    # Counted here against OUTBOUND_SEND_RETRIES, read when the task runs.
    max_retries=None,
    time_limit=120,
    soft_time_limit=100,
)
def send_outbound(self, event_id: int) -> str:
    """Hand a queued reply to its channel's adapter; retries back off, then fail."""
    retries = self.request.retries
    try:
        do_record_send_started(event_id=event_id)
        status, retry = _attempt_send(
            event_id,
            attempt=retries + 1,
            last=retries >= settings.OUTBOUND_SEND_RETRIES,
        )
    except OperationalError:
        # A deadlock or a lost connection, even at commit: nothing was recorded,
        # so the reply is still queued and the next attempt finds it so.
        if retries >= settings.OUTBOUND_SEND_RETRIES:
            raise
        status, retry = TimelineEvent.Delivery.QUEUED, True
    if retry:
        # Outside the transaction: the attempt's error is committed and shown.
        delay = min(600, settings.OUTBOUND_RETRY_SECONDS * 2**retries)
        raise self.retry(countdown=delay)
    return status


@shared_task(name="tickets.sweep_unsent_replies", time_limit=120, soft_time_limit=100)
def sweep_unsent_replies(limit: int = 1000) -> int:
    """Queue the replies whose send task was lost before it started (the broker
    was down when they were stored, or lost the message). Replies a task began to
    send are left alone: they may have reached the provider."""
    cutoff = timezone.now() - timedelta(seconds=settings.OUTBOUND_SWEEP_AFTER_SECONDS)
    ids = list(
        TimelineEvent.objects.filter(
            delivery_status=TimelineEvent.Delivery.QUEUED,
            send_started_at__isnull=True,
            created_at__lt=cutoff,
            # A recorded attempt means it was tried, whatever else says.
            delivery_error="",
        )
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )
    for event_id in ids:
        send_outbound.delay(event_id)
    if ids:
        logger.warning("sweep queued %d replies never sent", len(ids))
    return len(ids)


def _attempt_send(event_id: int, *, attempt: int, last: bool) -> tuple[str, bool]:
    """One attempt; returns the delivery status and whether to try again.

    The event's row stays locked while the adapter sends, so a duplicate task
    waits, then finds the reply sent: it never goes out twice.
    """
    with transaction.atomic():
        event = (
            TimelineEvent.objects.select_for_update(of=("self",), no_key=True)
            .select_related("ticket", "customer", "inbox")
            .get(pk=event_id)
        )
        if event.delivery_status != TimelineEvent.Delivery.QUEUED:
            return event.delivery_status, False
        recipient = event.customer.identities.filter(
            pk=event.metadata.get("recipient_identity_id")
        ).first()
        if recipient is None:
            reason = "the recipient identity no longer belongs to this customer"
            return _fail(event, reason), False
        message = OutboundMessage(
            event_id=event.pk,
            channel=event.channel,
            recipient_kind=recipient.kind,
            recipient=recipient.value,
            ticket_id=event.ticket_id,
            sender_name=event.sender_name,
            subject=event.subject,
            text=event.text,
            html=event.html,
            replies_to=_conversation_ids(event),
            template=event.metadata.get("template"),
            metadata=event.metadata,
        )
        try:
            adapter = sending_adapter(event.channel, event.inbox)
            external_id = adapter.send(message, inbox=event.inbox)
        except DeliveryRefusedError as exc:
            return _fail(event, str(exc)), False
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            if last:
                reason = f"gave up after {attempt} attempts: {reason}"
                return _fail(event, reason), False
            do_record_send_attempt(event=event, error=f"attempt {attempt}: {reason}")
            logger.info("reply %s not sent, will retry: %s", event.pk, reason)
            return event.delivery_status, True
        do_record_sent(
            event=event, external_id=external_id, replies_to=message.replies_to
        )
        return event.delivery_status, False


def _conversation_ids(event: TimelineEvent) -> tuple[str, ...]:
    if not event.ticket_id:
        return ()
    # Messages only: an auto-reply or bounce on the ticket is not what is answered.
    messages = (TimelineEvent.Kind.MESSAGE_IN, TimelineEvent.Kind.MESSAGE_OUT)
    ids = (
        TimelineEvent.objects.filter(
            ticket_id=event.ticket_id, channel=event.channel, kind__in=messages
        )
        .exclude(external_id="")
        .exclude(pk=event.pk)
        .order_by("occurred_at", "id")
        .values_list("external_id", flat=True)
    )
    return tuple(ids)[-20:]


def _fail(event: TimelineEvent, reason: str) -> str:
    do_record_send_failure(event=event, reason=reason)
    logger.warning("reply %s failed: %s", event.pk, reason)
    return event.delivery_status


@shared_task(
    name="tickets.send_invitation",
    # smtplib's errors are OSErrors: a mail server out of reach is tried again.
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=6,
    time_limit=60,
    soft_time_limit=50,
)
def send_invitation(invitation_id: int) -> bool:
    """Mail a pending invitation's link; one accepted or revoked meanwhile is not."""
    invitation = (
        Invitation.objects.select_related("agent", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or not invitation.is_pending:
        return False
    send_invitation_mail(invitation)
    return True
