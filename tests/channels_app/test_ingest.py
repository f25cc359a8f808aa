import base64
import hashlib
import json

import pytest
from django.db import OperationalError, connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext

from channels_app.ingest import (
    PayloadTooLargeError,
    ingest,
    process_inbound,
    receive_inbound,
)
from channels_app.models import InboundRecord
from customers.models import Customer, Identity
from tests.helpers import deliver, message
from tickets import tasks
from tickets.inbound import InboundAttachment, InboundMessage
from tickets.models import Attachment, Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

Failed = InboundRecord.Status.FAILED


def receive(channel: str, payload: bytes) -> InboundRecord:
    """A raw payload through the door, processed as a worker would process it."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        record, _ = receive_inbound(channel=channel, payload=payload)
    record.refresh_from_db()
    if record.status == InboundRecord.Status.RECEIVED:
        with TestCase.captureOnCommitCallbacks(execute=True):
            record = process_inbound(record.pk)
    return record


def assert_failed_and_kept(record: InboundRecord, error: str) -> None:
    """The record is failed with its reason, its payload kept, and nothing else made."""
    record.refresh_from_db()
    assert record.status == Failed
    assert error in record.error
    assert record.attempts == 1
    assert bytes(record.payload)
    assert not Customer.objects.exists()
    assert not Identity.objects.exists()
    assert not Ticket.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_a_first_message_opens_a_ticket_routed_to_the_default_team(teams):
    record = deliver(message("whatsapp", ("whatsapp", "14155552671"), text="My router"))

    assert record.status == InboundRecord.Status.PROCESSED
    ticket = Ticket.objects.get()
    assert ticket.team == teams["tech"]
    assert ticket.events.filter(kind="message_in").get().text == "My router"


def test_a_ticket_that_cannot_be_routed_at_once_is_queued_for_the_route_task(
    teams, monkeypatch
):
    def deadlocked(*, ticket_id):
        raise OperationalError("deadlock detected")

    queued = []
    monkeypatch.setattr(tasks, "do_route_ticket", deadlocked)
    monkeypatch.setattr(tasks.route_ticket, "delay", lambda *ids: queued.append(ids))

    record = deliver(message("email"))

    assert record.status == InboundRecord.Status.PROCESSED
    ticket = Ticket.objects.get()
    assert ticket.routed_at is None
    assert queued == [(ticket.pk,)]


def test_the_same_message_delivered_twice_is_stored_once(teams):
    first = message("whatsapp", ("whatsapp", "14155552671"), external_id="wamid.A")
    deliver(first)
    deliver(first)

    assert TimelineEvent.objects.filter(external_id="wamid.A").count() == 1
    assert InboundRecord.objects.count() == 1


def test_a_message_stored_before_changes_nothing_through_another_door(teams):
    deliver(message("whatsapp", ("whatsapp", "14155552671"), external_id="wamid.B"))
    stored = TimelineEvent.objects.get(external_id="wamid.B")
    identities = Identity.objects.count()
    # The same provider id again, even naming a sender the desk does not know.
    again = message("whatsapp", ("whatsapp", "14155550000"), external_id="wamid.B")

    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        assert ingest(again) == stored

    assert callbacks == []
    assert Customer.objects.count() == 1
    assert Identity.objects.count() == identities
    assert Ticket.objects.count() == 1
    assert TimelineEvent.objects.filter(external_id="wamid.B").count() == 1


# ------------------------------------------------------------------- bad input


def test_a_message_without_a_sender_identity_fails_visibly(teams):
    record = deliver(
        InboundMessage(channel="chat", external_id="anon-1", identities=(), text="hi")
    )

    assert_failed_and_kept(record, "InvalidIdentityError: the message has no sender")


@pytest.mark.parametrize(
    "claim, error",
    [
        (("email", "ana@@example.com"), "not a valid email address"),
        (("whatsapp", "12"), "phone number"),
        (("pager", "12345"), "unknown identity kind 'pager'"),
    ],
)
def test_a_message_with_an_invalid_identity_fails_visibly(teams, claim, error):
    record = deliver(message("chat", claim))

    assert_failed_and_kept(record, error)


@override_settings(MAX_MESSAGE_TEXT_CHARS=10)
@pytest.mark.parametrize("field", ["text", "html", "quoted_text"])
def test_an_oversized_body_fails_visibly(teams, field):
    record = deliver(message("email", **{"text": "short", field: "x" * 11}))

    assert_failed_and_kept(record, f"message {field} is 11 characters; the limit is 10")


@pytest.mark.parametrize(
    "payload, error",
    [
        (b"<html>not json", "InboundError: payload is not JSON"),
        (b"\xff\xfe", "InboundError: payload is not JSON"),
        (b"[1, 2]", "a message must be a JSON object"),
        (b'{"messages": "nope"}', "'messages' must be a list"),
        (
            b'{"identities": [{"kind": "email", "value": "a@x.org"}]}',
            "malformed message: KeyError('channel')",
        ),
        (
            b'{"channel": "chat", "identities": ["ana@example.com"]}',
            "malformed message",
        ),
        (
            b'{"channel": "chat", "identities": [{"kind": "web", "value": "v"}],'
            b' "attachments": [{"content": "not base64!"}]}',
            "malformed message",
        ),
        (
            b'{"channel": "chat", "identities": [{"kind": "web", "value": "v"}],'
            b' "occurred_at": "yesterday"}',
            "malformed message",
        ),
    ],
)
def test_a_payload_that_is_not_a_message_fails_visibly(teams, payload, error):
    record = receive("api", payload)

    assert_failed_and_kept(record, error)
    assert bytes(record.payload) == payload


@pytest.mark.parametrize("channel", ["fax", "internal", "x" * 40, ""])
def test_a_message_naming_a_channel_the_desk_does_not_have_fails_visibly(
    teams, channel
):
    document = message("chat", ("web", "visitor-1")).to_json() | {"channel": channel}

    record = receive("api", json.dumps(document).encode())

    assert_failed_and_kept(record, "channel")


def test_a_payload_for_an_unknown_adapter_is_kept_failed(teams):
    record = receive("fax", b'{"channel": "chat"}')

    assert_failed_and_kept(
        record, "UnknownChannelError: no channel adapter is registered as 'fax'"
    )


@override_settings(MAX_INBOUND_PAYLOAD_BYTES=64)
def test_a_payload_over_the_size_limit_is_refused_at_the_door(teams):
    with pytest.raises(PayloadTooLargeError, match="65 bytes exceeds the limit of 64"):
        receive_inbound(channel="api", payload=b"x" * 65)

    assert not InboundRecord.objects.exists()


# --------------------------------------------------------------------- content


def test_html_is_sanitised_before_it_is_stored(teams):
    deliver(
        message(
            "email",
            text="",
            html='<p onclick="steal()">Hi <b>there</b></p><script>alert(1)</script>'
            '<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">link</a>',
        )
    )

    event = TimelineEvent.objects.get(kind="message_in")
    assert "<b>there</b>" in event.html
    for unsafe in ("script", "alert", "onerror", "onclick", "javascript:"):
        assert unsafe not in event.html
    assert event.text == "Hi there\nlink"


def test_the_text_part_is_kept_when_there_is_one(teams):
    deliver(message("email", text="Plain words", html="<p>Rich <i>words</i></p>"))

    event = TimelineEvent.objects.get(kind="message_in")
    assert (event.text, event.html) == ("Plain words", "<p>Rich <i>words</i></p>")


def test_attachments_keep_their_bytes_names_and_digests(teams):
    pdf = b"%PDF-1.7 invoice"
    png = bytes(range(256))
    deliver(
        message(
            "email",
            attachments=(
                InboundAttachment(
                    name="invoice.pdf", content_type="application/pdf", content=pdf
                ),
                InboundAttachment(
                    name="logo.png",
                    content_type="image/png",
                    content=png,
                    content_id="logo@x",
                    inline=True,
                ),
            ),
        )
    )

    stored = Attachment.objects.order_by("id")
    assert [
        (a.name, a.content_type, a.size, bytes(a.data), a.sha256) for a in stored
    ] == [
        (
            "invoice.pdf",
            "application/pdf",
            len(pdf),
            pdf,
            hashlib.sha256(pdf).hexdigest(),
        ),
        ("logo.png", "image/png", 256, png, hashlib.sha256(png).hexdigest()),
    ]
    assert (stored[1].content_id, stored[1].inline) == ("logo@x", True)
    assert "notes" not in TimelineEvent.objects.get(kind="message_in").metadata


@override_settings(MAX_ATTACHMENT_BYTES=10)
def test_an_oversized_attachment_is_kept_as_metadata_with_a_note(teams):
    big = b"0123456789A"
    record = deliver(
        message(
            "email",
            attachments=(
                InboundAttachment(
                    name="scan.tiff", content_type="image/tiff", content=big
                ),
            ),
        )
    )

    stored = Attachment.objects.get()
    assert (stored.name, stored.size, stored.sha256, bytes(stored.data)) == (
        "scan.tiff",
        11,
        hashlib.sha256(big).hexdigest(),
        b"",
    )
    notes = TimelineEvent.objects.get(kind="message_in").metadata["notes"]
    assert notes == [
        "Attachment scan.tiff is 11 bytes, over the 10-byte limit: its bytes stay in "
        "the raw inbound record."
    ]
    raw = json.loads(bytes(record.payload))["attachments"][0]["content"]
    assert base64.b64decode(raw) == big


def test_a_message_costs_the_same_queries_however_long_the_conversation(teams):
    """The cost of threading a message does not grow with the ticket's history."""
    sender = ("whatsapp", "14155552671")
    ingest(message("whatsapp", sender, text="first"))

    def queries_for_one_more() -> int:
        with CaptureQueriesContext(connection) as captured:
            ingest(message("whatsapp", sender, text="and another"))
        return len(captured.captured_queries)

    early = queries_for_one_more()
    for _ in range(10):
        ingest(message("whatsapp", sender, text="more"))

    assert queries_for_one_more() == early
    assert Ticket.objects.get().events.count() == 13
