import pytest
from asgiref.sync import async_to_sync, sync_to_async

from tickets.actions.tickets import do_reply
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_visitor_and_agent(widget, teams, billing_agent):
    widget.start(name="Ana", email="ana@example.com")

    async def scenario():
        ready, backlog, synced = await widget.connect()
        assert backlog == []
        await widget.send(type="message", client_id="c1", text="Hello <b>there</b>")
        await widget.receive_until("ack")
        entry = (await widget.receive_until("entry"))["entry"]
        assert entry["seq"] == 1 and entry["client_id"] == "c1"
        ticket = await sync_to_async(Ticket.objects.get)()
        await sync_to_async(
            lambda: do_reply(ticket=ticket, author=billing_agent, text="Hi Ana")
        )()
        entry = (await widget.receive_until("entry"))["entry"]
        assert entry["from"] == "agent", entry
        await widget.close()

    async_to_sync(scenario)()
