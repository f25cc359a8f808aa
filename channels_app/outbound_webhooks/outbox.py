"""Delivery rows for the desk's events, written in the transaction of the change
they tell of: they commit with it or not at all (an outbox), and a task posts
each one after commit.

record() runs for every realtime event an action publishes, so it costs nothing
measurable while no endpoint subscribes: each process keeps the set of subscribed
event names for a few seconds.
"""

import time
import uuid

from django.utils import timezone

from channels_app.outbound_webhooks import payloads
from channels_app.outbound_webhooks.tasks import deliver_webhook
from supportdesk import events as realtime
from supportdesk.models import WebhookDelivery, WebhookEndpoint
from supportdesk.oncommit import enqueue_on_commit

# An endpoint added or changed in another process is heard of within this long;
# changes made through this process's actions are heard of at once.
SUBSCRIPTIONS_TTL_SECONDS = 5.0

# (monotonic expiry, subscribed event names)
_subscriptions: tuple[float, frozenset[str]] = (0.0, frozenset())

_DIRECT = {
    realtime.TICKET_CREATED: (realtime.TICKET_CREATED,),
    realtime.TICKET_ROUTED: (realtime.TICKET_ROUTED,),
    realtime.TICKET_REASSIGNED: (realtime.TICKET_REASSIGNED,),
    realtime.CUSTOMER_MERGED: (realtime.CUSTOMER_MERGED,),
}


def forget_subscriptions() -> None:
    global _subscriptions
    _subscriptions = (0.0, frozenset())


def subscribed_events() -> frozenset[str]:
    """The event names some enabled endpoint subscribes to, as of a few seconds ago."""
    global _subscriptions
    expires, subscribed = _subscriptions
    now = time.monotonic()
    if now >= expires:
        found: set[str] = set()
        for events in WebhookEndpoint.objects.filter(enabled=True).values_list(
            "events", flat=True
        ):
            found.update(events)
        subscribed = frozenset(found)
        _subscriptions = (now + SUBSCRIPTIONS_TTL_SECONDS, subscribed)
    return subscribed


def webhook_events_for(event: dict) -> set[str]:
    """The webhook events a realtime event may stand for."""
    kind = event.get("type")
    if kind == realtime.MESSAGE_CREATED:
        found = {realtime.MESSAGE_CREATED}
        if event.get("new_ticket"):
            found.add(realtime.TICKET_CREATED)
        return found
    if kind == realtime.TICKET_UPDATED:
        found = set()
        if "assignee_id" in event:
            found.add(realtime.TICKET_ASSIGNED)
        if "status" in event or "priority" in event:
            found.add(realtime.TICKET_UPDATED)
        if event.get("status") == "resolved":
            found.add(realtime.TICKET_RESOLVED)
        return found
    return set(_DIRECT.get(kind, ()))


def record(event: dict) -> list[WebhookDelivery]:
    """Write a pending delivery for each enabled endpoint subscribed to what this
    realtime event stands for, and queue each after commit.

    Called by publish_on_commit inside the action's transaction.
    """
    wanted = webhook_events_for(event)
    if not wanted or not (wanted & subscribed_events()):
        return []
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(enabled=True).only(
            "id", "events"
        )
        if wanted.intersection(endpoint.events)
    ]
    wanted &= {name for endpoint in endpoints for name in endpoint.events}
    if not wanted:
        return []
    built = payloads.build(event, wanted)
    now = timezone.now()
    deliveries = []
    for name, payload in built.items():
        for endpoint in endpoints:
            if name in endpoint.events:
                delivery_id = uuid.uuid4()
                deliveries.append(
                    WebhookDelivery(
                        delivery_id=delivery_id,
                        endpoint=endpoint,
                        event=name,
                        payload={"id": str(delivery_id), **payload},
                        next_attempt_at=now,
                    )
                )
    if not deliveries:
        return []
    created = WebhookDelivery.objects.bulk_create(deliveries)
    _queue(created)
    return created


def _queue(deliveries: list[WebhookDelivery]) -> None:
    for delivery in deliveries:
        enqueue_on_commit(deliver_webhook, delivery.pk)
