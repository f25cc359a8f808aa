"""The widget's door: what a visitor sends is checked, stored raw, then queued,
like a provider's webhook. Nothing here writes to a timeline."""

import base64
import hashlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from channels_app.adapters.chat import CLIENT_ID, external_id_of
from channels_app.ingest import PayloadTooLargeError, receive_inbound
from channels_app.models import ChatEntry, ChatVisitor, InboundRecord
from channels_app.widget.actions import do_advance_visitor_marks
from channels_app.widget.entries import open_chat_tickets
from supportdesk.ratelimit import hit
from tickets.actions.ratings import MAX_COMMENT_CHARS
from tickets.models import TicketStatus


class RefusedError(Exception):
    """Input the widget gets back as an error; `code` is stable, the text says why."""

    def __init__(self, code: str, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after

    def as_dict(self) -> dict:
        error = {"type": "error", "error": self.code, "message": str(self)}
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return error


@dataclass(frozen=True)
class Upload:
    name: str
    content_type: str
    content: bytes


def _store(
    visitor: ChatVisitor, kind: str, data: dict, external_id: str, **extra
) -> tuple[InboundRecord, bool]:
    # A socket holds its visitor for hours; the session may have changed the name
    # or email since (the address asked for when nobody is online, say).
    visitor.refresh_from_db(fields=["name", "email"])
    envelope = {
        "visitor": visitor.public_id.hex,
        "kind": kind,
        "received_at": timezone.now().isoformat(),
        "name": visitor.name,
        "email": visitor.email,
        "data": data,
        **extra,
    }
    try:
        return receive_inbound(
            channel="chat",
            payload=json.dumps(envelope).encode(),
            external_id=external_id,
            inbox=visitor.inbox.slug,
        )
    except PayloadTooLargeError:
        # Files travel base64 in the envelope: a third larger than they are.
        raise RefusedError(
            "too_large", "That is too large to send; try a smaller file."
        ) from None


def check_rate(key: str, spec: str, what: str) -> None:
    """Count one use of `key`; refused with the wait when over `spec`."""
    retry_after = hit(key, spec)
    if retry_after is not None:
        raise RefusedError(
            "rate_limited",
            f"Too many {what}; try again in {retry_after} s.",
            retry_after=retry_after,
        )


def receive_message(
    *, visitor: ChatVisitor, data: dict, host: str = "", uploads=()
) -> tuple[InboundRecord, bool]:
    """Store a visitor's message once per client id; a resend returns the record
    stored the first time, and counts against no limit."""
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise RefusedError("invalid", "A message needs a client_id of 1-64 letters.")
    text = data.get("text", "")
    if not isinstance(text, str):
        raise RefusedError("invalid", "A message's text is a string.")
    if len(text) > settings.WIDGET_MAX_MESSAGE_CHARS:
        raise RefusedError(
            "too_long",
            f"A message is at most {settings.WIDGET_MAX_MESSAGE_CHARS} characters.",
        )
    if not text.strip() and not uploads:
        raise RefusedError("invalid", "A message needs some text or a file.")
    external_id = external_id_of(visitor, client_id)
    stored = InboundRecord.objects.filter(
        channel="chat", external_id=external_id
    ).first()
    if stored is not None:
        return stored, False
    check_rate(f"widget-msg:{visitor.pk}", settings.WIDGET_RATE_MESSAGES, "messages")
    if not open_chat_tickets(visitor).exists():
        check_rate(
            f"widget-conv:{visitor.pk}",
            settings.WIDGET_RATE_CONVERSATIONS,
            "new conversations",
        )
    return _store(
        visitor,
        "message",
        {"client_id": client_id, "text": text},
        external_id,
        host=host[:200],
        attachments=[
            {
                "name": upload.name,
                "content_type": upload.content_type,
                "content": base64.b64encode(upload.content).decode("ascii"),
            }
            for upload in uploads
        ],
    )


def receive_receipt(*, visitor: ChatVisitor, upto: int, read: bool) -> bool:
    """The widget has the agents' messages up to `upto` (and has shown them when
    `read`). Stored only when it moves the visitor's marks forward."""
    if isinstance(upto, bool) or not isinstance(upto, int) or upto < 1:
        raise RefusedError("invalid", "A receipt names an entry number.")
    data = do_advance_visitor_marks(visitor=visitor, upto=upto, read=read)
    if not data:
        return False
    _store(
        visitor,
        "receipt",
        data,
        f"{visitor.public_id.hex}:receipt:{data.get('delivered_from', '')}-"
        f"{data.get('delivered', '')}:{data.get('read_from', '')}-"
        f"{data.get('read', '')}",
    )
    return True


def receive_rating(*, visitor: ChatVisitor, data: dict) -> tuple[InboundRecord, bool]:
    seq, score = data.get("seq"), data.get("score")
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise RefusedError("invalid", "A rating names the resolved entry's number.")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise RefusedError("invalid", "A rating is a whole number from 1 to 5.")
    comment = data.get("comment") or ""
    if not isinstance(comment, str) or len(comment.strip()) > MAX_COMMENT_CHARS:
        raise RefusedError(
            "too_long", f"A rating comment is at most {MAX_COMMENT_CHARS} characters."
        )
    # Checked here too, so the visitor hears why; the adapter checks again when
    # the stored rating is processed.
    resolved = (
        ChatEntry.objects.filter(visitor=visitor, seq=seq, kind=ChatEntry.Kind.RESOLVED)
        .select_related("ticket")
        .first()
    )
    if resolved is None or resolved.ticket is None:
        raise RefusedError("not_found", "No resolved conversation has that number.")
    if resolved.ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise RefusedError(
            "invalid", "This conversation is open again: rate it once it is resolved."
        )
    check_rate(f"widget-msg:{visitor.pk}", settings.WIDGET_RATE_MESSAGES, "messages")
    clean = {"seq": seq, "score": score, "comment": comment}
    digest = hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()
    return _store(
        visitor, "rating", clean, f"{visitor.public_id.hex}:rating:{seq}:{digest[:16]}"
    )
