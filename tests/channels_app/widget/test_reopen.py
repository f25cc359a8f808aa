"""A visitor writing to a chat the agent left pending opens it again, and the
agents' desk and subscribed webhooks hear of it like any other status change.
(Writing after a resolution starts a new chat instead: see test_ratings.)"""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from tests.channels_app.outbound_webhooks.webhook_support import (  # noqa: F401  (fixtures, used by name)
    endpoint_fixture,
    fresh_subscriptions_fixture,
    loopback_allowed_fixture,
    receiver_fixture,
)
from tests.channels_app.widget.conftest import (
    desk_receive_until,
    desk_socket,
    ticket_of,
)
from tickets.actions.tickets import do_change_status
from tickets.models import TicketStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_visitor_writing_to_a_pending_chat_opens_it_live_and_by_webhook(
    widget, teams, tech_agent, endpoint, receiver
):
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        await widget.send(type="message", client_id="c1", text="My order is late")
        await widget.receive_until("entry")
        ticket = await sync_to_async(ticket_of)(widget)
        await sync_to_async(do_change_status)(
            ticket=ticket, status=TicketStatus.PENDING, actor=tech_agent
        )
        desk = await desk_socket(tech_agent)
        await widget.send(type="message", client_id="c2", text="Any news?")
        await widget.receive_until("entry")
        update = await desk_receive_until(desk, "ticket.updated")
        await desk.disconnect()
        await widget.close()
        return ticket, update

    ticket, update = async_to_sync(scenario)()

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert update == {
        "type": "ticket.updated",
        "ticket_id": ticket.pk,
        "status": "open",
    }
    changes = [
        request.json()["data"]["changes"]
        for request in receiver.requests
        if request.headers["x-desk-event"] == "ticket.updated"
    ]
    assert changes == [{"status": "pending"}, {"status": "open"}]
