"""Telegram bots: updates arrive by webhook, replies leave through sendMessage.

Inbox secrets: bot_token (the API, media downloads), secret_token (Telegram sends
it back in X-Telegram-Bot-Api-Secret-Token with every update; set it with
setWebhook). Message ids are counted per chat and per bot, so an external id is
"<bot id>:<chat id>:<message id>", the same for messages in and out.
"""

import hmac
import mimetypes
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest

from channels_app.adapters.base import ChannelAdapter, InboundItem, SignatureError
from channels_app.adapters.provider_http import (
    Media,
    MediaRefusedError,
    ProviderError,
    call_json,
    check_size,
    check_type,
    download,
    file_name_for,
    inbox_for_sending,
)
from channels_app.models import Inbox
from supportdesk.json_input import MalformedJSONError, parse_json
from supportdesk.registry import IdentityKindSpec
from tickets.inbound import (
    IdentityClaim,
    InboundAttachment,
    InboundError,
    InboundMessage,
    MessageRevision,
    UnsupportedEventError,
)
from tickets.outbound import DeliveryRefusedError, OutboundMessage

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# sendMessage takes at most this many characters; longer replies go in parts.
MAX_TEXT_CHARS = 4096
# What each kind of media becomes when Telegram declares no type of its own.
_DEFAULT_TYPES = {
    "photo": "image/jpeg",
    "voice": "audio/ogg",
    "audio": "audio/mpeg",
    "video": "video/mp4",
    "document": "application/octet-stream",
}


def bot_id(token: str) -> str:
    """The bot's numeric id: the part of its token before the colon."""
    head = token.split(":", 1)[0]
    return head if head.isdigit() else ""


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _describe_error(answer: dict) -> str:
    description = str(answer.get("description") or "")
    code = answer.get("error_code")
    return f"{description} (error {code})" if code else description


class TelegramAdapter(ChannelAdapter):
    key = "telegram"
    label = "Telegram"
    channel = "telegram"
    identity_kinds = (IdentityKindSpec("telegram", "Telegram"),)
    secret_fields = ("bot_token", "secret_token")
    takes_webhooks = True
    webhook_json = True

    # ------------------------------------------------------------------ in

    def verify(self, request: HttpRequest, inbox: Inbox) -> None:
        expected = inbox.secret("secret_token")
        if not expected:
            raise SignatureError("the inbox has no secret_token to check updates with")
        given = request.headers.get(SECRET_HEADER, "")
        if not given:
            raise SignatureError(f"no {SECRET_HEADER} header")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise SignatureError(f"{SECRET_HEADER} does not match the inbox's")

    def delivery_id(self, request: HttpRequest, body: bytes) -> str:
        try:
            update_id = parse_json(body).get("update_id")
        except (MalformedJSONError, AttributeError):
            return ""
        if not isinstance(update_id, int):
            return ""
        # Update ids are counted per bot: the inbox tells two bots' updates apart.
        match = getattr(request, "resolver_match", None)
        slug = match.kwargs.get("slug", "") if match else ""
        return f"{slug}:{update_id}" if slug else str(update_id)

    def parse(self, payload: bytes, *, inbox: Inbox | None = None) -> list[InboundItem]:
        try:
            update = parse_json(payload)
        except MalformedJSONError as exc:
            raise InboundError(f"payload is not JSON: {exc}") from None
        if not isinstance(update, dict):
            raise InboundError("payload is not a JSON object")
        message, edited = update.get("message"), update.get("edited_message")
        if not isinstance(message, dict) and not isinstance(edited, dict):
            kinds = sorted(key for key in update if key != "update_id")
            raise UnsupportedEventError(
                f"Telegram update of kind {', '.join(kinds) or 'none'}"
            )
        token = inbox.secret("bot_token") if inbox is not None else ""
        bot = bot_id(token)
        if not bot:
            raise InboundError("the Telegram inbox has no valid bot_token")
        if isinstance(message, dict):
            return [self._message(message, token=token, bot=bot)]
        return [self._revision(_as_dict(edited), update, bot=bot)]

    def _ids(self, message: dict, bot: str) -> tuple[str, str]:
        try:
            chat_id = int(message["chat"]["id"])
            message_id = int(message["message_id"])
        except (KeyError, TypeError, ValueError):
            raise InboundError("the message has no chat id or message id") from None
        return f"{bot}:{chat_id}", f"{bot}:{chat_id}:{message_id}"

    def _message(self, message: dict, *, token: str, bot: str) -> InboundMessage:
        conversation, external_id = self._ids(message, bot)
        sender = _as_dict(message.get("from"))
        if not sender.get("id"):
            raise InboundError("the message names no sender")
        text = str(message.get("text") or message.get("caption") or "")
        attachments, notes = self._media(message, token=token)
        if not text and not attachments and not notes:
            kinds = sorted(
                key
                for key in message
                if key not in ("message_id", "from", "chat", "date", "entities")
            )
            raise UnsupportedEventError(
                f"Telegram message of kind {', '.join(kinds) or 'none'}"
            )
        if notes:
            text = "\n".join(filter(None, [text, *notes]))
        replied = message.get("reply_to_message")
        replies_to: tuple[str, ...] = ()
        if isinstance(replied, dict) and replied.get("message_id"):
            replies_to = (f"{conversation}:{int(replied['message_id'])}",)
        name = " ".join(
            str(sender.get(part) or "").strip() for part in ("first_name", "last_name")
        ).strip()
        username = str(sender.get("username") or "")
        return InboundMessage(
            channel="telegram",
            external_id=external_id,
            identities=(IdentityClaim("telegram", str(sender["id"])),),
            sender_name=name or (f"@{username}" if username else ""),
            text=text,
            occurred_at=_timestamp(message.get("date")),
            replies_to=replies_to,
            conversation_key=conversation,
            language=str(sender.get("language_code") or "")[:16],
            attachments=tuple(attachments),
            metadata={
                "chat_id": message["chat"]["id"],
                "chat_type": str(message["chat"].get("type") or ""),
                "username": username,
                **({"notes": notes} if notes else {}),
            },
        )

    def _revision(self, message: dict, update: dict, *, bot: str) -> MessageRevision:
        _, external_id = self._ids(message, bot)
        edited = message.get("edit_date") or update.get("update_id")
        return MessageRevision(
            channel="telegram",
            external_id=external_id,
            revision_id=str(edited),
            text=str(message.get("text") or message.get("caption") or ""),
            occurred_at=_timestamp(message.get("edit_date")),
        )

    # --------------------------------------------------------------- media

    def _media(
        self, message: dict, *, token: str
    ) -> tuple[list[InboundAttachment], list[str]]:
        """The message's photo, document, voice, audio or video, with a note for
        each one kept out (too large, or of a type not allowed)."""
        attachments: list[InboundAttachment] = []
        notes: list[str] = []
        for kind, item in self._media_items(message):
            given_name = str(item.get("file_name") or "")
            declared = str(
                item.get("mime_type")
                or mimetypes.guess_type(given_name)[0]
                or _DEFAULT_TYPES[kind]
            )
            name = given_name or file_name_for(f"telegram-{kind}", declared)
            try:
                media = self._fetch(item, token=token, declared_type=declared)
            except MediaRefusedError as exc:
                notes.append(f"[{kind} {name} not kept: {exc}]")
                continue
            attachments.append(
                InboundAttachment(
                    name=name, content_type=media.content_type, content=media.content
                )
            )
        return attachments, notes

    def _media_items(self, message: dict) -> Iterator[tuple[str, dict[str, Any]]]:
        photos = [p for p in message.get("photo") or () if isinstance(p, dict)]
        if photos:
            # Telegram lists every size it made; the last is the largest.
            largest = max(
                photos,
                key=lambda p: (p.get("file_size") or 0, (p.get("width") or 0)),
            )
            yield "photo", largest
        for kind in ("document", "voice", "audio", "video"):
            if isinstance(message.get(kind), dict) and message[kind].get("file_id"):
                yield kind, message[kind]

    def _fetch(self, item: dict, *, token: str, declared_type: str) -> Media:
        # Refused before any request: what Telegram declares is enough to tell.
        check_type(declared_type)
        if str(item.get("file_size") or "").isdigit():
            check_size(int(item["file_size"]))
        base = settings.TELEGRAM_API_BASE_URL.rstrip("/")
        try:
            answer = call_json(
                "GET",
                f"{base}/bot{token}/getFile",
                provider="Telegram",
                describe_error=_describe_error,
                params={"file_id": str(item.get("file_id") or "")},
            )
        except ProviderError as exc:
            raise InboundError(f"Telegram getFile failed: {exc}") from None
        result = _as_dict(answer.get("result"))
        path = str(result.get("file_path") or "")
        if not path:
            raise InboundError("Telegram getFile gave no file path")
        if str(result.get("file_size") or "").isdigit():
            check_size(int(result["file_size"]))
        try:
            return download(
                f"{base}/file/bot{token}/{quote(path)}",
                provider="Telegram",
                declared_type=declared_type,
            )
        except ProviderError as exc:
            raise InboundError(str(exc)) from None

    # ----------------------------------------------------------------- out

    def send(self, message: OutboundMessage, *, inbox: Inbox | None = None) -> str:
        inbox = inbox_for_sending(self.key, inbox)
        token = inbox.secret("bot_token")
        bot = bot_id(token)
        if not bot:
            raise DeliveryRefusedError(f"the inbox {inbox.slug} has no valid bot_token")
        text = message.text or ""
        parts = [
            text[start : start + MAX_TEXT_CHARS]
            for start in range(0, len(text), MAX_TEXT_CHARS)
        ] or [""]
        base = settings.TELEGRAM_API_BASE_URL.rstrip("/")
        ids = []
        for part in parts:
            try:
                answer = call_json(
                    "POST",
                    f"{base}/bot{token}/sendMessage",
                    provider="Telegram",
                    describe_error=_describe_error,
                    json={"chat_id": message.recipient, "text": part},
                )
            except ProviderError as exc:
                if exc.permanent:
                    raise DeliveryRefusedError(str(exc)) from None
                raise
            result = answer.get("result")
            if not answer.get("ok") or not isinstance(result, dict):
                raise ProviderError(f"Telegram refused: {_describe_error(answer)}")
            chat = _as_dict(result.get("chat"))
            chat_id = chat.get("id", message.recipient)
            ids.append(f"{bot}:{chat_id}:{result.get('message_id')}")
        # The first part stands for the reply; a customer's answer to any part
        # still threads by the chat.
        return ids[0]
