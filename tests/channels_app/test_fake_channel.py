"""A channel known to the desk from settings alone: the adapter class below is
registered in CHANNEL_ADAPTERS by this test, and no other file names it."""

import hashlib
import hmac
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase

from channels_app.adapters.base import ChannelAdapter, SignatureError
from channels_app.admin import inbox_form, secret_field_name
from channels_app.models import InboundRecord, Inbox
from customers.models import Identity
from supportdesk import registry
from tickets.actions.tickets import do_reply
from tickets.inbound import IdentityClaim, InboundMessage
from tickets.models import Ticket, TimelineEvent
from tickets.outbound import OutboundMessage

pytestmark = pytest.mark.django_db

RING_SECRET = "ring-secret-for-tests"
PATH = "/webhooks/pigeon/roof/"
SIGNATURE_HEADER = "X-Pigeon-Signature"

# What the fake provider was handed to deliver.
flown: list[OutboundMessage] = []


class PigeonAdapter(ChannelAdapter):
    """Notes carried by pigeon: a signed JSON post in, a note flown back out."""

    key = "pigeon"
    label = "Carrier pigeon"
    channel = "pigeon"
    identity_kinds = (registry.IdentityKindSpec("loft", "Pigeon loft"),)
    reply_window_hours = 48
    secret_fields = ("ring_secret",)
    config_fields = ("home_loft",)
    takes_webhooks = True

    def verify(self, request, inbox) -> None:
        secret = inbox.secret("ring_secret").encode()
        expected = hmac.new(secret, request.body, hashlib.sha256).hexdigest()
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")

    def delivery_id(self, request, body: bytes) -> str:
        return str(json.loads(body).get("id") or "")

    def parse(self, payload: bytes, *, inbox=None) -> list[InboundMessage]:
        note = json.loads(payload)
        return [
            InboundMessage(
                channel=self.channel,
                external_id=note["id"],
                identities=(IdentityClaim("loft", note["loft"]),),
                sender_name=note["name"],
                text=note["note"],
            )
        ]

    def send(self, message: OutboundMessage, *, inbox=None) -> str:
        flown.append(message)
        return f"pigeon-out-{message.event_id}"


@pytest.fixture
def pigeons(settings, teams):
    """The pigeon channel registered, with one inbox on the roof."""
    settings.CHANNEL_ADAPTERS = {
        **settings.CHANNEL_ADAPTERS,
        "pigeon": f"{__name__}.PigeonAdapter",
    }
    registry.clear_cache()
    flown.clear()
    yield Inbox.objects.create(
        adapter="pigeon",
        name="Roof",
        slug="roof",
        config={"home_loft": "north tower"},
        secrets={"ring_secret": RING_SECRET},
    )
    registry.clear_cache()


def signed(body: bytes, secret: str = RING_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(client, body: bytes, signature: str):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            PATH,
            data=body,
            content_type="application/json",
            headers={SIGNATURE_HEADER: signature},
        )


NOTE = {
    "id": "note-1",
    "loft": "Old Mill Loft",
    "name": "Ana",
    "note": "My order never arrived.",
}


def test_a_signed_webhook_lands_on_a_new_ticket_of_the_customer(client, pigeons):
    body = json.dumps(NOTE).encode()

    response = post(client, body, signed(body))

    assert response.status_code == 200, response.content
    record = InboundRecord.objects.get(pk=response.json()["received"])
    assert (record.channel, record.external_id) == ("pigeon", "note-1")
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    event = TimelineEvent.objects.get(kind="message_in")
    assert (event.channel, event.text) == ("pigeon", "My order never arrived.")
    ticket = event.ticket
    assert (ticket.channel, ticket.subject) == ("pigeon", "My order never arrived.")
    assert ticket.get_channel_display() == "Carrier pigeon"
    sender = event.sender_identity
    assert (sender.kind, sender.value) == ("loft", "Old Mill Loft")
    assert list(ticket.customer.timeline.filter(kind="message_in")) == [event]
    # The stored rows hold values the desk's fields accept.
    ticket.full_clean()
    sender.full_clean()


def test_the_signature_is_checked_over_the_raw_bytes(client, pigeons):
    """The same note written with other spacing is other bytes: refused."""
    body = json.dumps(NOTE).encode()
    respaced = json.dumps(NOTE, indent=2).encode()

    wrong_secret = post(client, body, signed(body, secret="not-the-ring-secret"))
    other_bytes = post(client, respaced, signed(body))

    assert (wrong_secret.status_code, other_bytes.status_code) == (403, 403)
    assert not InboundRecord.objects.exists()
    assert not Ticket.objects.exists()


def test_an_agent_reply_goes_out_through_the_channel(client, pigeons, tech_agent):
    body = json.dumps(NOTE).encode()
    post(client, body, signed(body))
    ticket = Ticket.objects.get()

    with TestCase.captureOnCommitCallbacks(execute=True):
        reply = do_reply(ticket=ticket, author=tech_agent, text="It flies today.")

    [sent] = flown
    assert (sent.channel, sent.recipient_kind, sent.recipient) == (
        "pigeon",
        "loft",
        "Old Mill Loft",
    )
    assert sent.text == "It flies today."
    reply.refresh_from_db()
    assert (reply.delivery_status, reply.external_id) == (
        "sent",
        f"pigeon-out-{reply.pk}",
    )


def test_the_desk_learns_the_channel_from_its_declarations(pigeons):
    assert registry.timeline_channels()["pigeon"] == "Carrier pigeon"
    assert "pigeon" in registry.reply_channels()
    assert registry.recipient_kinds("pigeon") == ("loft",)
    assert registry.reply_window("pigeon").total_seconds() == 48 * 3600
    assert registry.identity_kinds()["loft"].label == "Pigeon loft"
    assert registry.inbox_adapters()["pigeon"].label == "Carrier pigeon"
    # The inbox admin has a write-only field for its secret.
    assert secret_field_name("pigeon", "ring_secret") in inbox_form().base_fields


def test_an_unregistered_channel_is_refused_by_the_fields_that_name_it(teams):
    """Without the adapter in settings, "pigeon" and "loft" are no channel or kind."""
    registry.clear_cache()
    identity = Identity(kind="loft", value="Old Mill Loft")

    with pytest.raises(ValidationError) as refused:
        identity.full_clean(exclude=["customer"])

    assert "kind" in refused.value.message_dict
    assert "pigeon" not in registry.timeline_channels()
