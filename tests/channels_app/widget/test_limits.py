"""Rate limits on what a visitor may send: messages, new conversations, and new
visitors from one address."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile

from channels_app.models import ChatVisitor, InboundRecord
from tests.channels_app.widget.conftest import ticket_of
from tickets.actions.tickets import do_resolve_ticket
from tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_messages_beyond_the_rate_are_refused_and_not_stored(widget, teams, settings):
    """Past WIDGET_RATE_MESSAGES a message gets rate_limited with the seconds to
    wait, and is not stored; resending one already stored is still acknowledged."""
    settings.WIDGET_RATE_MESSAGES = "3/600"
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        replies = []
        for number in range(4):
            await widget.send(type="message", client_id=f"m{number}", text="Hi")
            item = await widget.receive()
            while item["type"] == "entry":
                item = await widget.receive()
            replies.append(item)
        await widget.send(type="message", client_id="m0", text="Hi")
        replies.append(await widget.receive_until("ack"))
        await widget.close()
        return replies

    replies = async_to_sync(scenario)()

    assert [reply["type"] for reply in replies] == ["ack"] * 3 + ["error", "ack"]
    refusal = replies[3]
    assert (refusal["error"], refusal["client_id"]) == ("rate_limited", "m3")
    assert 0 < refusal["retry_after"] <= 600
    assert replies[4]["duplicate"] is True
    assert InboundRecord.objects.count() == 3
    assert not TimelineEvent.objects.filter(metadata__client_id="m3").exists()


@pytest.mark.django_db
def test_an_upload_beyond_the_rate_is_a_429_with_retry_after(widget, settings):
    """Files count against the same message rate; the refusal says when to retry."""
    settings.WIDGET_RATE_MESSAGES = "1/600"
    widget.start(name="Ana")
    first = SimpleUploadedFile("a.txt", b"a", "text/plain")
    second = SimpleUploadedFile("b.txt", b"b", "text/plain")

    assert widget.upload(client_id="f1", file=first).status_code == 202
    response = widget.upload(client_id="f2", file=second)

    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 600
    assert InboundRecord.objects.count() == 1


def test_new_conversations_beyond_the_rate_are_refused(
    widget, teams, tech_agent, settings
):
    """A visitor may open WIDGET_RATE_CONVERSATIONS conversations; messages in an
    open one are not counted, a new one past the limit is refused."""
    settings.WIDGET_RATE_CONVERSATIONS = "1/3600"
    widget.start(name="Ana")

    async def send(client_id):
        await widget.send(type="message", client_id=client_id, text="Hi")
        item = await widget.receive()
        while item["type"] == "entry":
            item = await widget.receive()
        return item

    async def scenario():
        await widget.connect()
        opened = await send("first")
        same_conversation = await send("second")
        ticket = await sync_to_async(ticket_of)(widget)
        await sync_to_async(do_resolve_ticket)(
            ticket=ticket, actor=tech_agent, resolution_note="Answered."
        )
        await widget.receive_until("entry")  # the "resolved" entry
        new_conversation = await send("third")
        await widget.close()
        return opened, same_conversation, new_conversation

    opened, same_conversation, new_conversation = async_to_sync(scenario)()

    assert opened["type"] == same_conversation["type"] == "ack"
    assert new_conversation["type"] == "error"
    assert new_conversation["error"] == "rate_limited"
    assert new_conversation["retry_after"] > 0
    assert not TimelineEvent.objects.filter(metadata__client_id="third").exists()


@pytest.mark.django_db
def test_new_visitors_from_one_address_are_limited(new_widget, settings):
    """WIDGET_RATE_VISITORS new visitors per client address; past it a 429 with
    Retry-After. A returning visitor with a token and another address are not
    held back."""
    settings.WIDGET_RATE_VISITORS = "2/3600"
    first, second, third = new_widget(), new_widget(), new_widget()
    first.start()
    second.start()

    response = third.post_session({})

    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 3600
    assert response.json()["retry_after"] == int(response["Retry-After"])
    assert ChatVisitor.objects.count() == 2
    assert first.post_session({}).status_code == 200
    assert third.post_session({}, REMOTE_ADDR="10.0.0.9").status_code == 200
