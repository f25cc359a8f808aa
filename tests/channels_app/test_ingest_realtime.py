"""What ingestion publishes on the Redis channel layer, and when."""

import asyncio
import threading
import uuid

import pytest
import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from channels_app.ingest import process_inbound, submit_message
from channels_app.models import InboundRecord
from customers.models import Customer
from supportdesk import events
from tests.helpers import deliver, message
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)

# A message not followed by another within this long means nothing more is coming:
# events are sent synchronously when the transaction commits.
QUIET_SECONDS = 0.5


async def _receive_until_quiet(layer, channel: str) -> list[dict]:
    received = []
    while True:
        try:
            message = await asyncio.wait_for(layer.receive(channel), QUIET_SECONDS)
        except TimeoutError:
            return received
        assert message["type"] == events.LAYER_MESSAGE_TYPE
        received.append(message["event"])


class Listener:
    """A channel subscribed to one group, as a browser's consumer would be.

    Receiving happens on one long-lived event loop, as in an ASGI server; the desk
    publishes from its own threads and loops.
    """

    def __init__(self, layer, loop, group: str):
        self.layer, self.loop, self.group = layer, loop, group
        self.channel = self._run(layer.new_channel())
        self._run(layer.group_add(group, self.channel))

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def received(self) -> list[dict]:
        return self._run(_receive_until_quiet(self.layer, self.channel))

    def leave(self) -> None:
        self._run(self.layer.group_discard(self.group, self.channel))


@pytest.fixture
def listen():
    """Subscribe to groups on a Redis layer with a prefix of this test's own, so
    other runs publishing to the same server are not heard."""
    assert settings.REDIS_URL, "the realtime tests need REDIS_URL"
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": settings.REDIS_URL, "socket_timeout": None}],
                "prefix": f"test-ingest-{uuid.uuid4().hex[:12]}",
                "group_expiry": 300,
            },
        }
    }
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    listeners = []
    with override_settings(CHANNEL_LAYERS=layers):
        layer = get_channel_layer()

        def subscribe(group: str) -> Listener:
            listeners.append(Listener(layer, loop, group))
            return listeners[-1]

        try:
            yield subscribe
        finally:
            for listener in listeners:
                listener.leave()
            # The layer also holds connections made on the desk's publisher loop;
            # flushing from this loop would touch them. Delete the keys instead.
            client = redis.Redis.from_url(settings.REDIS_URL)
            prefix = layers["default"]["CONFIG"]["prefix"]
            for key in client.scan_iter(match=f"{prefix}*"):
                client.delete(key)
            client.close()
            loop.call_soon_threadsafe(loop.stop)
            thread.join(30)
            loop.close()


def test_a_new_ticket_and_its_message_are_announced_after_commit(teams, listen):
    deliver(message("email", ("email", "ana@example.com"), text="Earlier"))
    customer = Customer.objects.get()
    tech = teams["tech"]
    on_customer = listen(events.customer_group(customer.pk))
    on_team = listen(events.team_group(tech.pk))

    with transaction.atomic():
        record, _ = submit_message(
            message("email", ("email", "ana@example.com"), text="Refund please")
        )
        process_inbound(record.pk)
        ticket = Ticket.objects.latest("id")
        on_ticket = listen(events.ticket_group(ticket.pk))
        assert on_customer.received() == []

    event = TimelineEvent.objects.get(text="Refund please")
    entry = ticket.events.get(kind=TimelineEvent.Kind.ROUTE_CHANGE)
    # One event for the message and the ticket it opened, one for the routing,
    # which carries the ticket's route_change entry.
    heard_by_customer = on_customer.received()
    assert [e["type"] for e in heard_by_customer] == [
        events.MESSAGE_CREATED,
        events.TICKET_ROUTED,
    ]
    said, routed = heard_by_customer
    assert said["event_id"] == event.pk
    assert said["text"] == "Refund please"
    assert (said["ticket_id"], said["customer_id"]) == (ticket.pk, customer.pk)
    assert (said["channel"], said["new_ticket"]) == ("email", True)
    assert (routed["ticket_id"], routed["to_team_id"]) == (ticket.pk, tech.pk)
    assert routed["event_id"] == entry.pk
    assert routed["text"] == entry.text

    assert on_ticket.received() == heard_by_customer

    heard_by_team = on_team.received()
    assert [(e["type"], e["ticket_id"], e["to_team_id"]) for e in heard_by_team] == [
        (events.TICKET_ROUTED, ticket.pk, tech.pk)
    ]

    # Once routed, the owning team hears the ticket's next message too.
    deliver(message("email", text="Any news?", replies_to=(event.external_id,)))
    reply = TimelineEvent.objects.get(text="Any news?")
    heard_by_team = on_team.received()
    assert [(e["type"], e["event_id"], e["ticket_id"]) for e in heard_by_team] == [
        (events.MESSAGE_CREATED, reply.pk, ticket.pk)
    ]
    assert heard_by_team[0]["new_ticket"] is False


def test_nothing_is_published_when_the_transaction_rolls_back(teams, listen):
    deliver(message("email", ("email", "ana@example.com"), text="Earlier"))
    customer = Customer.objects.get()
    on_customer = listen(events.customer_group(customer.pk))
    on_team = listen(events.team_group(teams["tech"].pk))
    on_desk = listen(events.DESK_GROUP)

    with pytest.raises(RuntimeError), transaction.atomic():
        record, _ = submit_message(
            message("email", ("email", "ana@example.com"), text="Never mind")
        )
        process_inbound(record.pk)
        on_ticket = listen(events.ticket_group(Ticket.objects.latest("id").pk))
        raise RuntimeError("the surrounding work failed")

    assert on_customer.received() == []
    assert on_ticket.received() == []
    assert on_team.received() == []
    assert on_desk.received() == []
    assert not TimelineEvent.objects.filter(text="Never mind").exists()
    assert InboundRecord.objects.count() == 1
