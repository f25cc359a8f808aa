"""Typing indicators both ways, and read receipts both ways, between a visitor's
widget and the agent's desk watching the chat ticket."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from tests.channels_app.widget.conftest import (
    desk_receive_until,
    desk_socket,
    ticket_of,
)
from tickets.actions.tickets import do_reply, do_resolve_ticket
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)


async def _chat_with_agent_watching(widget, agent):
    """The visitor has written; the agent's desk watches the ticket."""
    await widget.connect()
    await widget.send(type="message", client_id="q", text="Hello?")
    await widget.receive_until("entry")
    ticket = await sync_to_async(ticket_of)(widget)
    desk = await desk_socket(agent)
    await desk.send_json_to({"action": "watch_ticket", "ticket_id": ticket.pk})
    await desk_receive_until(desk, "watching")
    return ticket, desk


def test_visitor_typing_reaches_the_agent_watching_the_ticket(
    widget, teams, tech_agent, supervisor
):
    """The widget's typing reaches the desk watching that chat, with the
    visitor's name; a desk not watching it hears nothing of it."""
    widget.start(name="Ana")

    async def scenario():
        ticket, desk = await _chat_with_agent_watching(widget, tech_agent)
        elsewhere = await desk_socket(supervisor)
        await widget.send(type="typing", typing=True)
        started = await desk_receive_until(desk, "visitor_typing")
        await widget.send(type="typing", typing=False)
        stopped = await desk_receive_until(desk, "visitor_typing")
        unheard = []
        while not await elsewhere.receive_nothing(timeout=0.3):
            unheard.append(await elsewhere.receive_json_from())
        for socket in (desk, elsewhere):
            await socket.disconnect()
        await widget.close()
        return ticket, started, stopped, unheard

    ticket, started, stopped, unheard = async_to_sync(scenario)()
    assert started == {
        "type": "visitor_typing",
        "ticket_id": ticket.pk,
        "typing": True,
        "name": "Ana",
    }
    assert stopped["typing"] is False
    assert "visitor_typing" not in {event["type"] for event in unheard}


def test_agent_typing_reaches_the_widget_with_the_agents_badge(
    widget, teams, tech_agent
):
    """The agent typing on the chat ticket shows in the widget with their name
    and initials; leaving the ticket stops it."""
    widget.start(name="Ana")

    async def scenario():
        ticket, desk = await _chat_with_agent_watching(widget, tech_agent)
        await desk.send_json_to(
            {"action": "typing", "ticket_id": ticket.pk, "typing": True}
        )
        typing = await widget.receive_until("typing")
        await desk.send_json_to({"action": "unwatch_ticket"})
        stopped = await widget.receive_until("typing")
        await desk.disconnect()
        await widget.close()
        return typing, stopped

    typing, stopped = async_to_sync(scenario)()
    name = tech_agent.get_full_name() or tech_agent.username
    assert typing["typing"] is True
    assert typing["agent"]["name"] == name
    initials = "".join(word[0] for word in name.split()[:2]).upper()
    assert typing["agent"]["initials"] == initials
    assert typing["agent"]["color"].startswith("#")
    assert stopped["typing"] is False


def test_an_agent_watching_the_chat_marks_the_visitors_messages_read(
    widget, teams, tech_agent
):
    """Opening the chat ticket tells the widget the visitor's messages are read
    up to the last one; a reconnecting widget learns it in ready."""
    widget.start(name="Ana")

    async def scenario():
        ticket, desk = await _chat_with_agent_watching(widget, tech_agent)
        read = await widget.receive_until("read")
        await widget.send(type="message", client_id="q2", text="Still there?")
        await widget.receive_until("entry")
        await desk.send_json_to({"action": "seen", "ticket_id": ticket.pk})
        read_again = await widget.receive_until("read")
        await desk.disconnect()
        await widget.close()
        ready, _, _ = await widget.connect(last_seq=2)
        await widget.close()
        return read, read_again, ready

    read, read_again, ready = async_to_sync(scenario)()
    assert read == {"type": "read", "seq": 1}
    assert read_again == {"type": "read", "seq": 2}
    assert ready["agent_read_seq"] == 2
    assert widget.visitor().agent_read_seq == 2


def test_visitor_receipts_move_the_agents_reply_to_delivered_then_read(
    widget, teams, tech_agent
):
    """The widget's receipts for entries that arrived live mark the agent's reply
    delivered, then read; a receipt never moves it back."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        await widget.send(type="message", client_id="q", text="Hello?")
        await widget.receive_until("entry")
        ticket = await sync_to_async(ticket_of)(widget)
        reply = await sync_to_async(do_reply)(
            ticket=ticket, author=tech_agent, text="Hi Ana"
        )
        seq = (await widget.receive_until("entry"))["entry"]["seq"]
        statuses = []

        async def status_after(**receipt):
            await widget.send(type="receipt", **receipt)
            # A ping's pong follows the receipt's handling on this socket.
            await widget.send(type="ping")
            await widget.receive_until("pong")
            await sync_to_async(reply.refresh_from_db)()
            statuses.append(reply.delivery_status)

        await status_after(seq=seq, read=False)
        await status_after(seq=seq, read=True)
        await status_after(seq=seq, read=False)
        await widget.close()
        return statuses

    statuses = async_to_sync(scenario)()
    assert statuses == ["delivered", "read", "read"]
    visitor = widget.visitor()
    assert (visitor.visitor_delivered_seq, visitor.visitor_read_seq) == (2, 2)


def test_a_receipt_beyond_the_stream_counts_only_what_exists(widget, teams, tech_agent):
    """A receipt naming a number the visitor has not got marks only the entries
    that exist; a later reply is still unread."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        await widget.send(type="message", client_id="q", text="Hello?")
        await widget.receive_until("entry")
        ticket = await sync_to_async(ticket_of)(widget)
        await sync_to_async(do_reply)(ticket=ticket, author=tech_agent, text="One")
        await widget.receive_until("entry")
        await widget.send(type="receipt", seq=1000, read=True)
        await widget.send(type="ping")
        await widget.receive_until("pong")
        await sync_to_async(do_reply)(ticket=ticket, author=tech_agent, text="Two")
        await widget.receive_until("entry")
        await widget.close()

    async_to_sync(scenario)()
    statuses = dict(
        TimelineEvent.objects.filter(kind="message_out").values_list(
            "text", "delivery_status"
        )
    )
    assert statuses == {"One": "read", "Two": "sent"}


def test_typing_after_a_resolved_chat_reaches_the_new_conversation(
    widget, teams, tech_agent
):
    """The visitor typed on a chat since resolved, then wrote again: their typing
    now reaches the agent watching the new ticket, not the resolved one."""
    widget.start(name="Ana")

    async def scenario():
        first, first_desk = await _chat_with_agent_watching(widget, tech_agent)
        await widget.send(type="typing", typing=True)
        await desk_receive_until(first_desk, "visitor_typing")
        await sync_to_async(do_resolve_ticket)(
            ticket=first, actor=tech_agent, resolution_note="Done."
        )
        await widget.receive_until("entry")  # resolved
        await widget.send(type="message", client_id="again", text="One more thing")
        await widget.receive_until("entry")
        second = await sync_to_async(
            lambda: Ticket.objects.exclude(pk=first.pk).get(channel="chat")
        )()
        desk = await desk_socket(tech_agent)
        await desk.send_json_to({"action": "watch_ticket", "ticket_id": second.pk})
        await desk_receive_until(desk, "watching")
        await widget.send(type="typing", typing=True)
        typing = await desk_receive_until(desk, "visitor_typing")
        for socket in (first_desk, desk):
            await socket.disconnect()
        await widget.close()
        return second, typing

    second, typing = async_to_sync(scenario)()
    assert typing["ticket_id"] == second.pk
