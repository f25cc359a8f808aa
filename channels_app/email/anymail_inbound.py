"""Mail in through providers' inbound webhooks, by way of django-anymail.

Anymail's views at /anymail/<provider>/inbound/ check each provider's signature or
basic auth and refuse what fails; what passes arrives here as an inbound signal.
The mail is stored raw through the one inbound door, like mail from any other
door, and the email adapter parses it from there.
"""

import base64
import binascii
import logging
from email.policy import compat32

from django.conf import settings

from channels_app.email.raw import message_id_of, oversized_stand_in
from channels_app.ingest import receive_inbound

logger = logging.getLogger(__name__)

CHANNEL = "email"


def _as_bytes(text) -> bytes | None:
    if isinstance(text, bytes):
        return text
    if isinstance(text, str) and text:
        return text.encode("utf-8", errors="replace")
    return None


def _posted_field(name: str):
    """The raw MIME a provider posts as a form field of the request."""

    def original(esp_event) -> bytes | None:
        post = getattr(esp_event, "POST", None)
        return _as_bytes(post.get(name)) if post is not None else None

    return original


def _postmark(esp_event) -> bytes | None:
    return _as_bytes(esp_event.get("RawEmail")) if isinstance(esp_event, dict) else None


def _amazon_ses(esp_event) -> bytes | None:
    if not isinstance(esp_event, dict) or not esp_event.get("content"):
        return None  # an S3 action: anymail fetched the mail, as_bytes() has it
    content = esp_event["content"]
    action = (esp_event.get("receipt") or {}).get("action") or {}
    if action.get("encoding") == "BASE64":
        try:
            return base64.b64decode(content)
        except (binascii.Error, ValueError):
            return None
    return _as_bytes(content)


# Where each provider (by anymail's esp_name) keeps the mail as it was received,
# when it sends it whole; otherwise anymail's rebuilt message stands in.
ORIGINAL_MIME = {
    "Mailgun": _posted_field("body-mime"),
    "SendGrid": _posted_field("email"),
    "Postmark": _postmark,
    "Amazon SES": _amazon_ses,
}


def raw_mime(message, esp_event, esp_name: str) -> bytes:
    """The mail as RFC 822 bytes: the provider's original when it sent one."""
    original = ORIGINAL_MIME.get(esp_name)
    raw = original(esp_event) if original is not None else None
    if raw:
        return raw
    try:
        return message.as_bytes()
    except (TypeError, ValueError, UnicodeError, LookupError):
        # Headers the modern policy cannot fold are written as they came.
        return message.as_bytes(policy=compat32)


def receive_anymail_inbound(sender, event, esp_name: str, **kwargs) -> None:
    """Receiver of anymail's inbound signal: store the mail, queue its parsing."""
    message = event.message
    raw = raw_mime(message, event.esp_event, esp_name)
    message_id = message_id_of(
        next((v for k, v in message.raw_items() if k.lower() == "message-id"), "")
    )
    limit = settings.MAX_INBOUND_PAYLOAD_BYTES
    if len(raw) > limit:
        raw = oversized_stand_in(
            message,
            size=len(raw),
            limit=limit,
            where=f"It came through {esp_name}; the rest of it was not kept.",
        )
    record, created = receive_inbound(
        channel=CHANNEL,
        payload=raw,
        external_id=message_id,
        inbox=settings.ANYMAIL_INBOUND_INBOX,
        content_type="message/rfc822",
    )
    if not created:
        logger.info(
            "%s inbound mail %s already stored as record %s",
            esp_name,
            message_id or "(no Message-ID)",
            record.pk,
        )


def connect() -> None:
    from anymail.signals import inbound

    inbound.connect(receive_anymail_inbound, dispatch_uid="channels_app.email.inbound")
