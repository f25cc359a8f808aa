from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from channels_app.models import InboundRecord, Inbox
from supportdesk.registry import EMAIL_FORM, PHONE_FORM, IdentityKindSpec
from tickets.inbound import (
    CallRecording,
    ConversationRating,
    DeliveryUpdate,
    InboundMessage,
    MessageRevision,
)
from tickets.models import Agent, Ticket, TimelineEvent
from tickets.outbound import LiveContact, OutboundMessage

# What an adapter's parse() may return for one stored payload.
InboundItem = (
    InboundMessage
    | DeliveryUpdate
    | MessageRevision
    | CallRecording
    | ConversationRating
)

# Kinds several adapters produce, declared alike by each.
EMAIL_IDENTITY = IdentityKindSpec("email", "Email", form=EMAIL_FORM)
PHONE_IDENTITY = IdentityKindSpec("phone", "Phone", form=PHONE_FORM)


class SignatureError(Exception):
    """A webhook request whose signature is missing, wrong or stale."""


class ChannelAdapter:
    """One provider or door, and everything the rest of the desk knows of it.

    The declarations below are all the desk reads: supportdesk.registry derives
    the timeline channels, identity kinds, inbox kinds, reply windows and
    recipients from the adapters registered in settings.CHANNEL_ADAPTERS.
    """

    # Names it in settings, inboxes, stored payloads and webhook URLs.
    key: str = ""
    label: str = ""
    # The timeline channel its messages land on and replies on it leave by, and
    # that channel's label (the adapter's own when blank). Blank for a door whose
    # messages name their channel themselves (the API's).
    channel: str = ""
    channel_label: str = ""
    # The kinds of identity its senders arrive with.
    identity_kinds: tuple[IdentityKindSpec, ...] = ()
    # The identity kinds a reply on its channel can go to, best first; blank for
    # the kinds it produces.
    recipient_kinds: tuple[str, ...] = ()
    # Whether an agent can write a reply on its channel at all (a call is
    # logged, never sent).
    offers_replies: bool = True
    # Hours after the customer last wrote during which a free-form reply can go
    # out; None for no window. Then what is left to an agent.
    reply_window_hours: int | None = None
    after_the_window: str = "the customer has to write again first"
    # Whether an Inbox can be of this kind, and the names of what it keeps there:
    # secrets (write-only in the admin) and non-secret config.
    serves_inboxes: bool = True
    secret_fields: tuple[str, ...] = ()
    config_fields: tuple[str, ...] = ()
    # Reachable at /webhooks/<key>/<inbox-slug>/; the others have no such door.
    takes_webhooks: bool = False
    # Whether its webhook bodies are JSON. The door stores a body that is not
    # JSON the desk reads (supportdesk.json_input), then answers it with a 400:
    # the record fails visibly at processing and can be replayed.
    webhook_json: bool = False
    # Sends that only touch the desk's own database and sockets (the chat widget)
    # run in the process that queued them, right after commit; the others go
    # through the send task, so a slow provider never holds up an agent.
    sends_in_process: bool = False

    def inbox_endpoint(self, inbox: Inbox) -> str:
        """Where messages of an inbox of this kind come in, for the admin; the
        webhook URL of adapters that take webhooks."""
        if not self.takes_webhooks:
            return "none"
        path = reverse("webhook", kwargs={"adapter_key": self.key, "slug": inbox.slug})
        return settings.PUBLIC_BASE_URL.rstrip("/") + path

    def handshake(self, request: HttpRequest, inbox: Inbox) -> HttpResponse | None:
        """Answer a provider's GET verification; None when the adapter has none."""
        return None

    def verify(self, request: HttpRequest, inbox: Inbox) -> None:
        """Check a webhook request's signature over its raw body, or raise
        SignatureError. Adapters without a webhook refuse every request."""
        raise SignatureError(f"{self.key or 'this adapter'} takes no webhooks")

    def delivery_id(self, request: HttpRequest, body: bytes) -> str:
        """The provider's id of this delivery, so a retry is recognised; "" when
        the payload's hash should stand for it."""
        return ""

    def acknowledge(
        self, *, record: InboundRecord, duplicate: bool
    ) -> HttpResponse | None:
        """The answer to an accepted delivery when the provider expects one of its
        own (Twilio wants TwiML); None for the door's JSON."""
        return None

    def parse(
        self, payload: bytes, *, inbox: Inbox | None = None
    ) -> Sequence[InboundItem]:
        """Turn a stored raw payload into messages and updates, or raise
        InboundError (UnsupportedEventError for kinds the adapter does not know)."""
        raise NotImplementedError

    def send(self, message: OutboundMessage, *, inbox: Inbox | None = None) -> str:
        """Hand a message to the provider; return the provider's id for it."""
        raise NotImplementedError

    def applied(self, item: InboundItem, event: TimelineEvent) -> None:
        """Called in the processing transaction once a parsed item has written or
        changed `event`; adapters that keep state of their own record it here."""

    def ticket_status_changed(self, *, ticket: Ticket, previous: str) -> None:
        """Called in the transaction that changed the status of a ticket opened on
        this adapter's channel, for channels that tell the customer."""

    # Live channels (the chat widget), where the customer may be there right now:
    # the agents' pages show them, and an agent's typing and reading reach them.
    def live_contact(self, ticket: Ticket) -> LiveContact | None:
        """The customer on the other end of a ticket on this channel, when the
        channel has one; None otherwise."""
        return None

    def agent_typing_event(self, *, agent: Agent, typing: bool) -> dict[str, Any]:
        """What the live contact hears while an agent types a reply."""
        return {}

    def mark_read_by_agent(self, *, ticket: Ticket) -> None:
        """An agent has the ticket open: what the customer sent so far is read."""
