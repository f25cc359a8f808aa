"""Messenger and Instagram share one adapter; most behaviour is checked on both."""

import time

import pytest
from django.test import TestCase

from channels_app.models import InboundRecord
from customers.models import Identity
from tests.channels_app.meta_support import (
    ACCESS_TOKEN,
    PAGE_ID,
    VERIFY_TOKEN,
    VERSION,
    delivered,
    page_inbox,
    post_webhook,
)
from tests.provider_server import Reply
from tickets.actions.tickets import TicketActionError, do_reply
from tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db

OBJECT = {"messenger": "page", "instagram": "instagram"}
PERSON = "7001002003004005"
SEND_PATH = f"/{VERSION}/{PAGE_ID}/messages"


def now_ms(hours_ago: float = 0) -> int:
    return int((time.time() - hours_ago * 3600) * 1000)


def webhook(adapter: str, *events) -> dict:
    return {
        "object": OBJECT[adapter],
        "entry": [{"id": PAGE_ID, "time": now_ms(), "messaging": list(events)}],
    }


def from_person(message: dict | None = None, *, hours_ago: float = 0, **event) -> dict:
    envelope = {
        "sender": {"id": PERSON},
        "recipient": {"id": PAGE_ID},
        "timestamp": now_ms(hours_ago),
    }
    if message is not None:
        envelope["message"] = message
    return envelope | event


def from_page(message: dict) -> dict:
    return {
        "sender": {"id": PAGE_ID},
        "recipient": {"id": PERSON},
        "timestamp": now_ms(),
        "message": {"is_echo": True, **message},
    }


def events_of(record: InboundRecord) -> list[TimelineEvent]:
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    return list(TimelineEvent.objects.filter(pk__in=record.event_ids).order_by("pk"))


@pytest.fixture(params=["messenger", "instagram"])
def adapter(request, db) -> str:
    page_inbox(request.param)
    return request.param


@pytest.fixture
def conversation(adapter, client, graph, teams) -> TimelineEvent:
    """The customer wrote; the desk answers through the stand-in Send API."""
    graph.route(
        "POST", SEND_PATH, Reply(body={"recipient_id": PERSON, "message_id": "m_SENT1"})
    )
    record = delivered(
        client,
        adapter,
        webhook(adapter, from_person({"mid": "m_IN1", "text": "Where is my order?"})),
    )
    return events_of(record)[0]


def reply(ticket, agent, text="It ships today.") -> TimelineEvent:
    with TestCase.captureOnCommitCallbacks(execute=True):
        event = do_reply(ticket=ticket, author=agent, text=text)
    event.refresh_from_db()
    return event


# ------------------------------------------------------------------- messages


def test_a_message_opens_a_ticket_for_the_page_scoped_sender(adapter, conversation):
    event = conversation

    assert (event.kind, event.channel, event.text) == (
        "message_in",
        adapter,
        "Where is my order?",
    )
    assert event.external_id == "m_IN1"
    assert event.ticket.channel == adapter
    assert event.ticket.inbox.adapter == adapter
    assert Identity.objects.get(customer=event.customer).kind == adapter
    assert Identity.objects.get(customer=event.customer).value == PERSON


def test_an_image_is_downloaded_from_its_url(adapter, client, graph, teams):
    graph.route("GET", "/cdn/", Reply(body=b"JPEG bytes", content_type="image/jpeg"))
    url = f"{graph.url}/cdn/photo_123.jpg?token=abc"
    payload = webhook(
        adapter,
        from_person(
            {
                "mid": "m_IMG",
                "attachments": [{"type": "image", "payload": {"url": url}}],
            }
        ),
    )

    [event] = events_of(delivered(client, adapter, payload))

    assert event.text == "[image]"
    [attachment] = event.attachments.all()
    assert (attachment.name, attachment.content_type) == ("photo_123.jpg", "image/jpeg")
    assert bytes(attachment.data) == b"JPEG bytes"
    assert "authorization" not in graph.requests[0].headers


def test_media_off_meta_hosts_is_never_fetched(adapter, client, graph, teams):
    """A payload cannot make the desk fetch an internal URL: media off Meta's
    hosts stays a link in a note."""
    graph.route("GET", "/", Reply(body=b"internal secret", content_type="text/plain"))
    port = graph.url.rsplit(":", 1)[1]
    urls = [
        f"http://localhost:{port}/latest/meta-data/iam",
        f"http://fbcdn.net.localhost:{port}/photo.jpg",
        f"ftp://127.0.0.1:{port}/photo.jpg",
    ]
    payload = webhook(
        adapter,
        from_person(
            {
                "mid": "m_SSRF",
                "attachments": [
                    {"type": "image", "payload": {"url": url}} for url in urls
                ],
            }
        ),
    )

    [event] = events_of(delivered(client, adapter, payload))

    assert graph.requests == []
    assert not event.attachments.exists()
    notes = event.metadata["notes"]
    assert len(notes) == 3
    assert all("not on Meta's media hosts" in note for note in notes)
    assert [note.rsplit("Link: ", 1)[1] for note in notes] == urls


def test_a_too_large_attachment_keeps_its_link_as_a_note(
    adapter, client, graph, settings, teams
):
    settings.MAX_MEDIA_BYTES = 100
    graph.route("GET", "/cdn/", Reply(body=b"v" * 500, content_type="video/mp4"))
    url = f"{graph.url}/cdn/clip.mp4"
    payload = webhook(
        adapter,
        from_person(
            {
                "mid": "m_VID",
                "text": "Look",
                "attachments": [{"type": "video", "payload": {"url": url}}],
            }
        ),
    )

    [event] = events_of(delivered(client, adapter, payload))

    assert event.text == "Look"
    assert not event.attachments.exists()
    [note] = event.metadata["notes"]
    assert "100-byte limit" in note and url in note
    assert event.metadata["shared"] == [{"type": "video", "url": url}]


def test_a_shared_post_is_kept_as_a_link(adapter, client, graph, teams):
    url = "https://www.instagram.com/p/abc/"
    payload = webhook(
        adapter,
        from_person(
            {
                "mid": "m_SHARE",
                "attachments": [{"type": "share", "payload": {"url": url}}],
            }
        ),
    )

    [event] = events_of(delivered(client, adapter, payload))

    assert event.text == "[share]"
    assert event.metadata["notes"] == [f"A share was shared: {url}"]
    assert graph.requests == []


def test_a_failed_download_fails_the_record_for_a_replay(adapter, client, graph, teams):
    graph.route("GET", "/cdn/", Reply(status=502, body=b"bad gateway"))
    payload = webhook(
        adapter,
        from_person(
            {
                "mid": "m_IMG",
                "attachments": [
                    {"type": "image", "payload": {"url": f"{graph.url}/cdn/a.jpg"}}
                ],
            }
        ),
    )

    record = delivered(client, adapter, payload)

    assert record.status == InboundRecord.Status.FAILED
    assert "502" in record.error


def test_a_reply_to_a_message_threads_and_shows_what_it_quotes(
    adapter, client, conversation
):
    payload = webhook(
        adapter,
        from_person(
            {"mid": "m_IN2", "text": "Any news?", "reply_to": {"mid": "m_IN1"}}
        ),
    )

    [event] = events_of(delivered(client, adapter, payload))

    assert event.ticket == conversation.ticket
    assert event.metadata["quoted"]["text"] == "Where is my order?"


def test_a_reaction_says_which_emoji_reacted_to_which_message(
    adapter, client, conversation
):
    payload = webhook(
        adapter,
        from_person(
            reaction={
                "mid": "m_IN1",
                "action": "react",
                "emoji": "\u2764",
                "reaction": "love",
            }
        ),
    )

    [event] = events_of(delivered(client, adapter, payload))

    assert event.kind == "system"
    assert event.text == "Reacted \u2764 to “Where is my order?”"
    assert event.ticket == conversation.ticket


def test_a_postback_reads_as_the_button_the_customer_pressed(adapter, client, teams):
    payload = webhook(
        adapter,
        from_person(
            postback={"mid": "m_PB", "title": "Track my order", "payload": "TRACK"}
        ),
    )

    [event] = events_of(delivered(client, adapter, payload))

    assert (event.kind, event.text) == ("message_in", "Track my order")
    assert event.metadata["postback"]["payload"] == "TRACK"


def test_an_edit_keeps_the_earlier_text(adapter, client, conversation):
    payload = webhook(
        adapter,
        from_person(
            message_edit={"mid": "m_IN1", "text": "Where is order 4411?", "num_edit": 1}
        ),
    )

    delivered(client, adapter, payload)

    conversation.refresh_from_db()
    assert conversation.text == "Where is order 4411?"
    assert (
        conversation.metadata["revisions"][0]["previous_text"] == "Where is my order?"
    )


def test_a_deleted_message_is_marked_and_keeps_its_text(adapter, client, conversation):
    payload = webhook(adapter, from_person({"mid": "m_IN1", "is_deleted": True}))

    delivered(client, adapter, payload)

    conversation.refresh_from_db()
    assert conversation.metadata["deleted"] is True
    assert conversation.text == "Where is my order?"


# -------------------------------------------------------------------- echoes


def test_the_echo_of_a_desk_reply_adds_nothing(
    adapter, client, conversation, tech_agent
):
    sent = reply(conversation.ticket, tech_agent)
    echo = {"mid": "m_SENT1", "text": "It ships today.", "app_id": 42}
    if adapter == "messenger":
        echo["metadata"] = f"desk-event:{sent.pk}"
    events = TimelineEvent.objects.count()

    record = delivered(client, adapter, webhook(adapter, from_page(echo)))

    assert record.status == InboundRecord.Status.PROCESSED, record.error
    assert TimelineEvent.objects.count() == events


def test_a_message_the_page_sent_elsewhere_shows_as_a_system_event(
    adapter, client, conversation
):
    payload = webhook(adapter, from_page({"mid": "m_PAGE", "text": "Hi from our team"}))

    [event] = events_of(delivered(client, adapter, payload))

    assert event.kind == "system"
    assert event.text == "Sent by the page outside the desk: Hi from our team"
    assert event.customer == conversation.customer
    assert event.ticket == conversation.ticket
    assert event.metadata["echo"] is True


# ------------------------------------------------------------------- replies


def test_a_reply_goes_through_the_send_api(adapter, conversation, graph, tech_agent):
    event = reply(conversation.ticket, tech_agent)

    [request] = graph.requests
    assert (request.method, request.path) == ("POST", SEND_PATH)
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    expected = {"text": "It ships today."}
    if adapter == "messenger":
        expected["metadata"] = f"desk-event:{event.pk}"
    assert request.json() == {
        "recipient": {"id": PERSON},
        "messaging_type": "RESPONSE",
        "message": expected,
    }
    assert (event.delivery_status, event.external_id) == ("sent", "m_SENT1")


def test_a_send_api_refusal_fails_the_reply_with_its_reason(
    adapter, conversation, graph, tech_agent
):
    graph.route(
        "POST",
        SEND_PATH,
        Reply(
            status=400,
            body={
                "error": {
                    "message": "(#10) This message is sent outside of allowed window.",
                    "code": 10,
                    "error_subcode": 2018278,
                }
            },
        ),
    )

    event = reply(conversation.ticket, tech_agent)

    assert event.delivery_status == "failed"
    assert "outside of allowed window" in event.delivery_error


def test_delivery_and_read_receipts_move_replies_forward(
    adapter, client, conversation, tech_agent
):
    sent = reply(conversation.ticket, tech_agent)

    delivered(
        client,
        adapter,
        webhook(
            adapter, from_person(delivery={"mids": ["m_SENT1"], "watermark": now_ms()})
        ),
    )
    sent.refresh_from_db()
    assert sent.delivery_status == "delivered"

    read = {"mid": "m_SENT1"} if adapter == "instagram" else {"watermark": now_ms()}
    delivered(client, adapter, webhook(adapter, from_person(read=read)))
    sent.refresh_from_db()
    assert sent.delivery_status == "read"


def test_a_read_watermark_covers_only_replies_sent_before_it(
    adapter, client, conversation, tech_agent
):
    sent = reply(conversation.ticket, tech_agent)

    delivered(
        client,
        adapter,
        webhook(adapter, from_person(read={"watermark": now_ms(hours_ago=1)})),
    )

    sent.refresh_from_db()
    assert sent.delivery_status == "sent"


def test_outside_the_window_a_reply_is_refused(
    adapter, client, graph, teams, tech_agent
):
    payload = webhook(
        adapter, from_person({"mid": "m_OLD", "text": "Hello?"}, hours_ago=30)
    )
    [event] = events_of(delivered(client, adapter, payload))

    with pytest.raises(TicketActionError, match="outside the 24-hour window"):
        reply(event.ticket, tech_agent)

    assert graph.requests == []


# ------------------------------------------------------- unsupported, the door


def test_events_the_desk_does_not_handle_are_marked_unsupported(adapter, client):
    payload = webhook(adapter, from_person(optin={"ref": "newsletter"}))

    record = delivered(client, adapter, payload)

    assert record.status == InboundRecord.Status.UNSUPPORTED
    assert "optin events" in record.error


def test_page_changes_are_marked_unsupported(adapter, client):
    payload = {
        "object": OBJECT[adapter],
        "entry": [
            {
                "id": PAGE_ID,
                "time": now_ms(),
                "changes": [{"field": "feed", "value": {}}],
            }
        ],
    }

    record = delivered(client, adapter, payload)

    assert record.status == InboundRecord.Status.UNSUPPORTED
    assert "feed changes" in record.error


def test_a_payload_for_the_other_platform_is_marked_unsupported(adapter, client):
    other = "instagram" if adapter == "messenger" else "messenger"
    payload = webhook(other, from_person({"mid": "m_X", "text": "Hi"}))

    record = delivered(client, adapter, payload)

    assert record.status == InboundRecord.Status.UNSUPPORTED


@pytest.mark.parametrize("signature", [None, "sha256=" + "f" * 64, "md5=abc"])
def test_a_post_without_a_good_signature_is_refused(adapter, client, signature):
    payload = webhook(adapter, from_person({"mid": "m_IN1", "text": "Hi"}))

    response = post_webhook(client, adapter, payload, signature=signature)

    assert response.status_code in (401, 403)
    assert not InboundRecord.objects.exists()


def test_the_handshake_needs_the_inbox_verify_token(adapter, client):
    url = f"/webhooks/{adapter}/support/"
    good = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "challenge-42",
    }

    assert client.get(url, good).content == b"challenge-42"
    assert client.get(url, {**good, "hub.verify_token": "nope"}).status_code == 403
