from django.http import HttpRequest, HttpResponse

from tickets.inbound import DeliveryUpdate, InboundMessage, MessageRevision
from tickets.outbound import OutboundMessage

# What an adapter's parse() may return for one stored payload.
InboundItem = InboundMessage | DeliveryUpdate | MessageRevision


class SignatureError(Exception):
    """A webhook request whose signature is missing, wrong or stale."""


class ChannelAdapter:
    """One provider or door. `key` names it in settings, inboxes and webhook URLs."""

    key: str = ""
    # Sends that only touch the desk's own database and sockets (the chat widget)
    # run in the process that queued them, right after commit; the others go
    # through the send task, so a slow provider never holds up an agent.
    sends_in_process: bool = False
    # Reachable at /webhooks/<key>/<inbox-slug>/; the others have no such door.
    takes_webhooks: bool = False

    def handshake(self, request: HttpRequest, inbox) -> HttpResponse | None:
        """Answer a provider's GET verification; None when the adapter has none."""
        return None

    def verify(self, request: HttpRequest, inbox) -> None:
        """Check a webhook request's signature over its raw body, or raise
        SignatureError. Adapters without a webhook refuse every request."""
        raise SignatureError(f"{self.key or 'this adapter'} takes no webhooks")

    def delivery_id(self, request: HttpRequest, body: bytes) -> str:
        """The provider's id of this delivery, so a retry is recognised; "" when
        the payload's hash should stand for it."""
        return ""

    def acknowledge(self, *, record, duplicate: bool) -> HttpResponse | None:
        """The answer to an accepted delivery when the provider expects one of its
        own (Twilio wants TwiML); None for the door's JSON."""
        return None

    def parse(self, payload: bytes, *, inbox=None) -> list[InboundItem]:
        """Turn a stored raw payload into messages and updates, or raise
        InboundError (UnsupportedEventError for kinds the adapter does not know)."""
        raise NotImplementedError

    def send(self, message: OutboundMessage, *, inbox=None) -> str:
        """Hand a message to the provider; return the provider's id for it."""
        raise NotImplementedError

    def applied(self, item, event) -> None:
        """Called in the processing transaction once a parsed item has written or
        changed `event`; adapters that keep state of their own record it here."""

    def ticket_status_changed(self, *, ticket, previous: str) -> None:
        """Called in the transaction that changed the status of a ticket opened on
        this adapter's channel, for channels that tell the customer."""
