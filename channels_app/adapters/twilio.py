"""Twilio: the X-Twilio-Signature check every Twilio webhook shares, and SMS.

Twilio signs the public URL it called plus the POSTed form fields with the
account's auth token. The desk sits behind whatever proxy the deployment has, so
the URL is rebuilt from settings.PUBLIC_BASE_URL and the request's path and query,
and the fields are read from the raw body, never from a re-encoded form.

Inbox config: account_sid, from_number (E.164). Inbox secret: auth_token.
"""

from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from twilio.request_validator import RequestValidator

from channels_app.adapters.base import (
    PHONE_IDENTITY,
    ChannelAdapter,
    InboundItem,
    SignatureError,
)
from channels_app.adapters.provider_http import (
    MediaRefusedError,
    ProviderError,
    call_json,
    download,
    file_name_for,
    inbox_for_sending,
)
from channels_app.models import InboundRecord, Inbox
from supportdesk.registry import PHONE_FORM, IdentityKindSpec
from tickets.inbound import (
    DeliveryUpdate,
    IdentityClaim,
    InboundAttachment,
    InboundError,
    InboundMessage,
    UnsupportedEventError,
)
from tickets.outbound import DeliveryRefusedError, OutboundMessage

SIGNATURE_HEADER = "X-Twilio-Signature"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Twilio splits longer bodies itself up to this size, and refuses beyond it.
MAX_BODY_CHARS = 1600

# Twilio's message statuses as the desk's delivery states.
_DELIVERY = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
# The error codes a failed SMS most often carries, in words an agent can act on.
_ERRORS = {
    "21610": "the recipient has unsubscribed (replied STOP)",
    "21211": "the number is not a valid phone number",
    "21614": "the number cannot receive SMS",
    "30003": "the handset is unreachable",
    "30004": "the message was blocked",
    "30005": "the number is unknown or no longer exists",
    "30006": "a landline or an unreachable carrier",
    "30007": "the carrier filtered the message",
    "30008": "an unknown error at the carrier",
}


def form_fields(body: bytes) -> MultiValueDict:
    """The POSTed fields, every value of a repeated one kept."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InboundError("the form body is not UTF-8") from None
    return MultiValueDict(parse_qs(text, keep_blank_values=True))


def public_url(request: HttpRequest) -> str:
    """The URL Twilio called, as the world sees the desk."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()


def webhook_url(adapter: str, inbox: Inbox) -> str:
    path = reverse("webhook", kwargs={"adapter_key": adapter, "slug": inbox.slug})
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def _describe_error(answer: dict) -> str:
    message = str(answer.get("message") or "")
    code = answer.get("code")
    return f"{message} (code {code})" if code else message


def _credentials(inbox: Inbox) -> tuple[str, str]:
    account = str(inbox.config.get("account_sid") or "")
    token = inbox.secret("auth_token")
    return account, token


class TwilioWebhookAdapter(ChannelAdapter):
    """What every Twilio webhook shares: the signature over URL and fields."""

    takes_webhooks = True
    secret_fields = ("auth_token",)

    def verify(self, request: HttpRequest, inbox: Inbox) -> None:
        token = inbox.secret("auth_token")
        if not token:
            raise SignatureError("the inbox has no auth_token to check signatures with")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            raise SignatureError(f"no {SIGNATURE_HEADER} header")
        url = public_url(request)
        try:
            params = form_fields(request.body)
        except InboundError as exc:
            raise SignatureError(str(exc)) from None
        if not RequestValidator(token).validate(url, params, signature):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match {url}")

    def send(self, message: OutboundMessage, *, inbox: Inbox | None = None) -> str:
        raise DeliveryRefusedError(f"{self.key} sends nothing")


class TwilioSmsAdapter(TwilioWebhookAdapter):
    """Inbound SMS and MMS, delivery status callbacks, replies through the REST API."""

    key = "twilio-sms"
    label = "SMS (Twilio)"
    channel = "sms"
    channel_label = "SMS"
    identity_kinds = (
        IdentityKindSpec("sms", "SMS", form=PHONE_FORM, also_a_phone=True),
        PHONE_IDENTITY,
    )
    recipient_kinds = ("sms", "phone")
    config_fields = ("account_sid", "from_number")

    def acknowledge(self, *, record: InboundRecord, duplicate: bool) -> HttpResponse:
        # Twilio reads the answer to an incoming message as TwiML and flags any
        # other type (error 12300); an empty Response sends nothing back.
        return HttpResponse(EMPTY_TWIML, content_type="text/xml")

    def delivery_id(self, request: HttpRequest, body: bytes) -> str:
        try:
            fields = form_fields(body)
        except InboundError:
            return ""
        sid = fields.get("MessageSid") or fields.get("SmsSid") or ""
        status = _status(fields)
        if not sid:
            return ""
        # A message's status callbacks share its sid: each status is a delivery.
        return f"{sid}:{status}" if status and status != "received" else sid

    def parse(self, payload: bytes, *, inbox: Inbox | None = None) -> list[InboundItem]:
        fields = form_fields(payload)
        sid = fields.get("MessageSid") or fields.get("SmsSid") or ""
        if not sid:
            raise InboundError("the request names no MessageSid")
        status = _status(fields)
        if status in ("", "received", "receiving"):
            return [self._inbound(fields, sid, inbox)]
        if status in _DELIVERY:
            return [
                DeliveryUpdate(
                    channel="sms",
                    external_id=sid,
                    status=_DELIVERY[status],
                    error=_error_text(fields) if _DELIVERY[status] == "failed" else "",
                )
            ]
        raise UnsupportedEventError(f"Twilio message status {status[:40]!r}")

    def _inbound(
        self, fields: MultiValueDict, sid: str, inbox: Inbox | None
    ) -> InboundMessage:
        sender = fields.get("From") or ""
        if not sender:
            raise InboundError("the message names no sender")
        attachments, notes = self._media(fields, inbox)
        text = "\n".join(filter(None, [(fields.get("Body") or "").strip(), *notes]))
        metadata: dict[str, Any] = {"to": fields.get("To") or ""}
        if notes:
            metadata["notes"] = notes
        return InboundMessage(
            channel="sms",
            external_id=sid,
            identities=(IdentityClaim("sms", sender),),
            text=text,
            attachments=tuple(attachments),
            metadata=metadata,
        )

    def _media(
        self, fields: MultiValueDict, inbox: Inbox | None
    ) -> tuple[list[InboundAttachment], list[str]]:
        """MMS media: fetched from Twilio with the account's credentials. A URL
        outside the Twilio API never gets them: it stays a link in a note."""
        count = fields.get("NumMedia") or "0"
        attachments: list[InboundAttachment] = []
        notes: list[str] = []
        account, token = _credentials(inbox) if inbox is not None else ("", "")
        base = settings.TWILIO_API_BASE_URL.rstrip("/") + "/"
        for index in range(int(count) if count.isdigit() else 0):
            url = fields.get(f"MediaUrl{index}") or ""
            declared = fields.get(f"MediaContentType{index}") or ""
            name = file_name_for(f"mms-{index + 1}", declared)
            if not url:
                continue
            if not (url.startswith(base) and account and token):
                notes.append(f"[media {name} not fetched: {url}]")
                continue
            try:
                media = download(
                    url,
                    provider="Twilio",
                    declared_type=declared,
                    auth=(account, token),
                )
            except MediaRefusedError as exc:
                notes.append(f"[media {name} not kept: {exc}]")
                continue
            except ProviderError as exc:
                raise InboundError(str(exc)) from None
            attachments.append(
                InboundAttachment(
                    name=name, content_type=media.content_type, content=media.content
                )
            )
        return attachments, notes

    def send(self, message: OutboundMessage, *, inbox: Inbox | None = None) -> str:
        inbox = inbox_for_sending(self.key, inbox)
        account, token = _credentials(inbox)
        sender = str(inbox.config.get("from_number") or "")
        if not (account and token and sender):
            raise DeliveryRefusedError(
                f"the inbox {inbox.slug} needs account_sid, from_number and auth_token"
            )
        base = settings.TWILIO_API_BASE_URL.rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{account}/Messages.json"
        text = message.text or ""
        parts = [
            text[start : start + MAX_BODY_CHARS]
            for start in range(0, len(text), MAX_BODY_CHARS)
        ] or [""]
        sids = []
        for part in parts:
            try:
                answer = call_json(
                    "POST",
                    url,
                    provider="Twilio",
                    describe_error=_describe_error,
                    auth=(account, token),
                    data={
                        "To": message.recipient,
                        "From": sender,
                        "Body": part,
                        "StatusCallback": webhook_url(self.key, inbox),
                    },
                )
            except ProviderError as exc:
                if exc.permanent:
                    raise DeliveryRefusedError(str(exc)) from None
                raise
            if not answer.get("sid"):
                raise ProviderError("Twilio accepted the message but gave no sid")
            sids.append(str(answer["sid"]))
        # Status callbacks of the first part move the reply's delivery state.
        return sids[0]


def _status(fields: MultiValueDict) -> str:
    return (fields.get("MessageStatus") or fields.get("SmsStatus") or "").lower()


def _error_text(fields: MultiValueDict) -> str:
    code = fields.get("ErrorCode") or ""
    words = fields.get("ErrorMessage") or _ERRORS.get(code, "")
    if code:
        return f"Twilio error {code}" + (f": {words}" if words else "")
    return words or f"Twilio reported the message {_status(fields)}"
