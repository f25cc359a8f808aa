"""What Meta's webhooks share (WhatsApp, Messenger, Instagram): the GET handshake,
the X-Hub-Signature-256 check over the raw body, and a few parsing helpers."""

import hashlib
import hmac
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden

from channels_app.adapters.base import ChannelAdapter, InboundItem, SignatureError
from channels_app.adapters.provider_http import inbox_for_sending
from channels_app.meta_graph import GraphError
from channels_app.models import Inbox
from supportdesk.json_input import MalformedJSONError, parse_json
from tickets.inbound import InboundError, InboundMessage, UnsupportedEventError
from tickets.outbound import DeliveryRefusedError
from tickets.selectors import event_for_external_id

SIGNATURE_HEADER = "X-Hub-Signature-256"


def hub_signature(secret: str, body: bytes) -> str:
    """The value Meta puts in X-Hub-Signature-256 for this body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class MetaWebhookAdapter(ChannelAdapter):
    """Handshake and signature check of every Meta webhook.

    Inbox secrets: app_secret (signs the POSTs), verify_token (the handshake).
    """

    takes_webhooks = True
    webhook_json = True
    # Meta allows free-form replies for a day after the customer last wrote.
    reply_window_hours = 24

    def handshake(self, request: HttpRequest, inbox: Inbox) -> HttpResponse:
        expected = inbox.secret("verify_token")
        given = request.GET.get("hub.verify_token", "")
        challenge = request.GET.get("hub.challenge", "")
        if (
            request.GET.get("hub.mode") != "subscribe"
            or not expected
            or not hmac.compare_digest(given.encode(), expected.encode())
        ):
            return HttpResponseForbidden("verification failed")
        return HttpResponse(challenge, content_type="text/plain")

    def verify(self, request: HttpRequest, inbox: Inbox) -> None:
        secret = inbox.secret("app_secret")
        if not secret:
            raise SignatureError("the inbox has no app secret to check signatures with")
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not given:
            raise SignatureError(f"no {SIGNATURE_HEADER} header")
        expected = hub_signature(secret, request.body)
        if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")

    # ------------------------------------------------------------- helpers

    def inbox_for_sending(self, inbox: Inbox | None) -> Inbox:
        """The inbox a reply leaves through: its own, else the first enabled one."""
        return inbox_for_sending(self.key, inbox)


@dataclass
class ParsedBatch:
    """What one webhook payload turns into, and what it held that was skipped.

    Skipped parts are named in the metadata of the messages parsed beside them;
    a payload with nothing handled raises UnsupportedEventError.
    """

    source: str
    inbox: Inbox | None = None
    items: list[InboundItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # Handled without an item to apply (an echo of the desk's own reply, say).
    handled_quietly: bool = False

    def skip(self, what: str) -> None:
        if what not in self.skipped:
            self.skipped.append(what)

    def result(self) -> list[InboundItem]:
        if not self.items and not self.handled_quietly:
            raise UnsupportedEventError(
                f"{self.source} webhook with nothing the desk handles: "
                + (", ".join(self.skipped) or "no messages or statuses")
            )
        if not self.skipped:
            return self.items
        return [
            replace(item, metadata={**item.metadata, "unhandled": list(self.skipped)})
            if isinstance(item, InboundMessage)
            else item
            for item in self.items
        ]


def load_document(payload: bytes) -> dict:
    try:
        document = parse_json(payload)
    except MalformedJSONError as exc:
        raise InboundError(f"payload is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InboundError("payload is not a JSON object")
    return document


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def from_timestamp(value: Any, *, milliseconds: bool = False) -> datetime | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if milliseconds:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def quoted_message(channel: str, external_id: str) -> dict[str, Any]:
    """What a reply or reaction points at, for the agent: the message's id, and
    its event and opening words when it is on the timeline."""
    quoted: dict[str, Any] = {"id": external_id}
    event = event_for_external_id(channel=channel, external_id=external_id)
    if event is not None:
        quoted.update(event_id=event.pk, text=event.text[:280], kind=event.kind)
    return quoted


def describe_quoted(quoted: dict) -> str:
    text = " ".join(str(quoted.get("text") or "").split())
    if not text:
        return "a message"
    return f"“{text[:77]}…”" if len(text) > 80 else f"“{text}”"


def raise_for_send(exc: GraphError) -> None:
    """A refusal a retry cannot change fails the reply now, with Graph's reason."""
    if exc.permanent:
        raise DeliveryRefusedError(str(exc)) from exc
    raise exc
