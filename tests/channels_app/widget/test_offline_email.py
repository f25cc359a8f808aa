"""Nobody online, or the visitor gone: the widget says so, and the conversation
continues by email."""

from datetime import timedelta
from unittest import mock

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core import mail
from django.utils import timezone

from channels_app.email.tokens import ticket_from_addresses
from tests.channels_app.email.mail_support import event_of, new_mail, receive_mail
from tests.channels_app.widget.conftest import desk_socket, ticket_of
from tickets.actions.tickets import do_reply
from tickets.models import Agent, TimelineEvent
from tickets.outbound import DeliveryRefusedError

pytestmark = pytest.mark.django_db(transaction=True)


def agents_online_says(widget) -> tuple[bool, bool]:
    """What the session and the socket's ready say of agents online."""
    session = widget.start(name="Ana")

    async def scenario():
        ready, _, _ = await widget.connect()
        await widget.close()
        return ready

    return session["agents_online"], async_to_sync(scenario)()["agents_online"]


def test_with_no_agent_at_a_desk_the_widget_is_told_nobody_is_online(
    widget, tech_agent, billing_agent
):
    """Agents who never opened the desk, or left it minutes ago, or are inactive
    are not online; one whose desk is open is."""
    assert agents_online_says(widget) == (False, False)

    long_ago = timezone.now() - timedelta(minutes=10)
    Agent.objects.update(desk_seen_at=long_ago)
    assert agents_online_says(widget) == (False, False)

    Agent.objects.filter(pk=billing_agent.pk).update(
        desk_seen_at=timezone.now(), is_active=False
    )
    assert agents_online_says(widget) == (False, False)

    async def open_desk():
        desk = await desk_socket(tech_agent)
        await desk.disconnect()

    async_to_sync(open_desk)()
    assert agents_online_says(widget) == (True, True)


def _conversation_then_leave(widget) -> None:
    async def scenario():
        await widget.connect()
        await widget.send(type="message", client_id="q", text="Where is my parcel?")
        await widget.receive_until("entry")
        await widget.close()

    async_to_sync(scenario)()


def test_a_reply_to_a_visitor_who_left_goes_by_email_and_the_answer_threads_back(
    widget, teams, tech_agent
):
    """The visitor left an email and closed the widget: the agent's reply is on
    the chat and goes by mail, with a reply address that brings the customer's
    answer back onto the same ticket."""
    widget.start(name="Ana", email="ana@example.com")
    _conversation_then_leave(widget)
    ticket = ticket_of(widget)

    reply = do_reply(ticket=ticket, author=tech_agent, text="It ships tomorrow.")

    [sent] = mail.outbox
    assert sent.to == ["ana@example.com"]
    assert sent.body == "It ships tomorrow."
    assert f"[#{ticket.pk}]" in sent.subject
    assert ticket_from_addresses(sent.reply_to) == ticket.pk
    reply.refresh_from_db()
    assert reply.delivery_status == "sent"
    assert reply.metadata["emailed"] == {
        "to": "ana@example.com",
        "message_id": sent.extra_headers["Message-ID"],
    }
    assert reply.chat_entry.seq == 2

    answer = new_mail(
        sender="Ana <ana@example.com>",
        to=sent.reply_to[0],
        subject=sent.subject,
        text="Great, thank you!",
        In_Reply_To=sent.extra_headers["Message-ID"],
    )
    answered = event_of(receive_mail(bytes(answer)))

    assert (answered.ticket_id, answered.channel) == (ticket.pk, "email")
    assert answered.customer_id == ticket.customer_id


def test_a_visitor_with_the_widget_open_gets_no_email(widget, teams, tech_agent):
    """While the widget is open the reply goes only to the chat."""
    widget.start(name="Ana", email="ana@example.com")

    async def scenario():
        await widget.connect()
        await widget.send(type="message", client_id="q", text="Hello?")
        await widget.receive_until("entry")
        ticket = await sync_to_async(ticket_of)(widget)
        await sync_to_async(do_reply)(ticket=ticket, author=tech_agent, text="Hi!")
        entry = (await widget.receive_until("entry"))["entry"]
        await widget.close()
        return entry

    assert async_to_sync(scenario)()["text"] == "Hi!"
    assert mail.outbox == []


def test_a_visitor_who_left_no_email_finds_the_reply_on_return(
    widget, teams, tech_agent
):
    """Without an address nothing is mailed; the reply waits on the stream."""
    widget.start(name="Ana")
    _conversation_then_leave(widget)

    do_reply(ticket=ticket_of(widget), author=tech_agent, text="Answer")

    assert mail.outbox == []

    async def scenario():
        _, backlog, _ = await widget.connect(last_seq=1)
        await widget.close()
        return backlog

    assert [entry["text"] for entry in async_to_sync(scenario)()] == ["Answer"]


def test_a_refused_email_copy_does_not_fail_the_chat_reply(widget, teams, tech_agent):
    """The mail server refusing the copy leaves the reply sent on the chat, with
    the refusal noted for the agents."""
    widget.start(name="Ana", email="ana@example.com")
    _conversation_then_leave(widget)
    refusal = DeliveryRefusedError("550 no such mailbox")

    with mock.patch(
        "channels_app.adapters.email.send_mail_message", side_effect=refusal
    ):
        reply = do_reply(ticket=ticket_of(widget), author=tech_agent, text="Hi")

    reply.refresh_from_db()
    assert reply.delivery_status == "sent"
    assert reply.metadata["emailed"]["error"] == "550 no such mailbox"
    assert TimelineEvent.objects.get(pk=reply.pk).chat_entry.seq == 2
