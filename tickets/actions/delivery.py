"""What providers report back about messages already on the timeline."""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tickets.actions.timeline import publish_event
from tickets.inbound import DeliveryUpdate, MessageRevision
from tickets.models import TimelineEvent
from tickets.search import add_to_search_document

Delivery = TimelineEvent.Delivery
# Reports can arrive out of order; a message never goes back from read to sent.
# Keyed by plain strings: a provider's update names its status as text.
_PROGRESS: dict[str, int] = {
    Delivery.QUEUED: 0,
    Delivery.SENT: 1,
    Delivery.DELIVERED: 2,
    Delivery.READ: 3,
}


@transaction.atomic
def do_apply_delivery_update(*, update: DeliveryUpdate) -> TimelineEvent | None:
    """Move an outgoing message's delivery state forward; unknown ids change nothing."""
    if update.status not in Delivery.values or not update.status:
        raise ValueError(f"unknown delivery status {update.status!r}")
    event = (
        TimelineEvent.objects.select_for_update(of=("self",), no_key=True)
        .select_related("ticket")
        .filter(channel=update.channel, external_id=update.external_id)
        .first()
    )
    if event is None:
        return None
    current = event.delivery_status
    if update.status == Delivery.FAILED:
        if current == Delivery.FAILED:
            return event
    elif current == Delivery.FAILED or _PROGRESS.get(update.status, 0) <= _PROGRESS.get(
        current, -1
    ):
        return event
    event.delivery_status = update.status
    event.delivery_error = update.error[:2000]
    history = event.metadata.setdefault("delivery", [])
    history.append(
        {
            "status": update.status,
            "at": (update.occurred_at or timezone.now()).isoformat(),
            "error": update.error[:500],
        }
    )
    event.save(update_fields=["delivery_status", "delivery_error", "metadata"])
    publish_event(event)
    return event


@transaction.atomic
def do_apply_revision(*, revision: MessageRevision) -> TimelineEvent | None:
    """A customer edited or deleted a message: the timeline shows it, and keeps
    every earlier text for the agents."""
    event = (
        TimelineEvent.objects.select_for_update(of=("self",), no_key=True)
        .select_related("ticket")
        .filter(channel=revision.channel, external_id=revision.external_id)
        .first()
    )
    if event is None or event.kind != TimelineEvent.Kind.MESSAGE_IN:
        # Only what a customer sent can be revised by the customer's channel.
        return None
    revisions = event.metadata.setdefault("revisions", [])
    if any(r["id"] == revision.revision_id for r in revisions):
        return event
    revisions.append(
        {
            "id": revision.revision_id,
            "previous_text": event.text,
            "deleted": revision.deleted,
            "at": (revision.occurred_at or timezone.now()).isoformat(),
        }
    )
    if revision.deleted:
        event.metadata["deleted"] = True
    else:
        event.text = revision.text[: settings.MAX_MESSAGE_TEXT_CHARS]
    event.save(update_fields=["text", "metadata"])
    if event.ticket_id and not revision.deleted:
        # Added to the words the earlier text left: the desk keeps that text too.
        add_to_search_document(ticket_id=event.ticket_id, texts=[event.text])
    publish_event(event)
    return event


def do_note_send_details(*, event: TimelineEvent, **details: Any) -> TimelineEvent:
    """What an adapter learnt while sending a reply (a copy it mailed too, say),
    kept on the reply; do_record_sent() keeps it when the send is recorded."""
    event.metadata.update(details)
    event.save(update_fields=["metadata"])
    return event


def do_record_send_started(*, event_id: int) -> None:
    """A send task is about to hand a reply to its adapter for the first time.

    Committed on its own, before the send: should the worker die mid-way, the reply
    shows it may have reached the provider, and no sweep sends it again.
    """
    TimelineEvent.objects.filter(
        pk=event_id, delivery_status=Delivery.QUEUED, send_started_at__isnull=True
    ).update(send_started_at=timezone.now())


def do_record_sent(
    *, event: TimelineEvent, external_id: str, replies_to: tuple[str, ...]
) -> TimelineEvent:
    """The provider took a reply: keep its id (later reports and replies find the
    reply by it) and the earlier messages it answers. The caller holds the row lock."""
    # What the adapter noted on the event while sending is in the row already.
    event.refresh_from_db(fields=["metadata"])
    event.external_id = external_id or ""
    event.delivery_status = Delivery.SENT
    event.delivery_error = ""
    event.metadata["replies_to"] = list(replies_to)
    event.save(
        update_fields=["external_id", "delivery_status", "delivery_error", "metadata"]
    )
    publish_event(event)
    return event


def do_record_send_attempt(*, event: TimelineEvent, error: str) -> TimelineEvent:
    """An attempt failed and another will follow: the reply stays queued."""
    event.delivery_error = error[:2000]
    event.save(update_fields=["delivery_error"])
    return event


def do_record_send_failure(*, event: TimelineEvent, reason: str) -> TimelineEvent:
    """The reply will not go out: failed, with the reason agents are shown."""
    event.delivery_status = Delivery.FAILED
    event.delivery_error = reason[:2000]
    event.save(update_fields=["delivery_status", "delivery_error"])
    publish_event(event)
    return event
