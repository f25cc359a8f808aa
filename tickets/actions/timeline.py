from typing import Any

from django.utils import timezone

from customers.models import Customer
from supportdesk import events
from supportdesk.oncommit import publish_on_commit
from tickets.models import Agent, Channel, Ticket, TimelineEvent
from tickets.search import add_to_search_document


def event_payload(event: TimelineEvent, *, new_ticket: bool = False) -> dict[str, Any]:
    """What a browser needs to show a new timeline event without another query."""
    is_message = event.kind in (
        TimelineEvent.Kind.MESSAGE_IN,
        TimelineEvent.Kind.MESSAGE_OUT,
    )
    payload: dict[str, Any] = {
        "type": events.MESSAGE_CREATED if is_message else events.TIMELINE_EVENT_CREATED,
        "event_id": event.pk,
        "customer_id": event.customer_id,
        "ticket_id": event.ticket_id,
        "channel": event.channel,
        "kind": event.kind,
        "sender_name": event.sender_name,
        "text": event.text[:280],
        "occurred_at": event.occurred_at.isoformat(),
    }
    if event.delivery_status:
        # Published again as the provider reports on it: queued, sent, read, failed.
        payload["delivery_status"] = event.delivery_status
        payload["delivery_error"] = event.delivery_error[:280]
    if is_message:
        # A message that opened its ticket announces the ticket too.
        payload["new_ticket"] = new_ticket
    return payload


def publish_event(event: TimelineEvent, *, new_ticket: bool = False) -> None:
    groups = (
        events.ticket_groups(event.ticket)
        if event.ticket_id
        else [events.customer_group(event.customer_id), events.DESK_GROUP]
    )
    if event.kind == TimelineEvent.Kind.NOTE:
        # A note is for those who may see its ticket: not the customer's group,
        # which agents of the customer's other tickets join. The consumer checks
        # each note again, as the ticket may have moved since.
        customer_group = events.customer_group(event.customer_id)
        groups = [group for group in groups if group != customer_group]
    publish_on_commit(event_payload(event, new_ticket=new_ticket), groups)


def publish_ticket_created(ticket: Ticket) -> None:
    publish_on_commit(
        {
            "type": events.TICKET_CREATED,
            "ticket_id": ticket.pk,
            "customer_id": ticket.customer_id,
            "channel": ticket.channel,
        },
        events.ticket_groups(ticket),
    )


def do_append_system_event(
    *,
    customer: Customer,
    kind: str,
    text: str,
    ticket: Ticket | None = None,
    author: Agent | None = None,
    metadata: dict[str, Any] | None = None,
    channel: str = Channel.INTERNAL,
    publish: bool = True,
) -> TimelineEvent:
    """A status change, route change, merge or note of the desk itself.

    publish=False when the caller's own event carries this one to the browsers.
    """
    event = TimelineEvent.objects.create(
        customer=customer,
        ticket=ticket,
        channel=channel,
        kind=kind,
        author=author,
        sender_name=author.get_full_name() or author.username if author else "",
        text=text,
        metadata=metadata or {},
        occurred_at=timezone.now(),
    )
    if ticket is not None:
        add_to_search_document(ticket_id=ticket.pk, texts=[event.text])
    if publish:
        publish_event(event)
    return event
