"""One raw RFC 822 mail made into one InboundMessage, whatever door it came through
(IMAP, a provider's inbound webhook, the MTA pipe).

The stdlib parser reads the structure in its compat32 policy, which keeps header
values as the raw strings they were (the modern policy raises on some broken
headers when they are read); headers.py decodes them with charset fallbacks. No
mail makes this raise: one that names no sender at all is filed under an unknown
sender with a note, since a mail received is never lost.
"""

import hashlib
import logging
import re
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parseaddr

from django.conf import settings

from channels_app.email import autoreply, mime
from channels_app.email.headers import (
    MAX_REFERENCES,
    Headers,
    format_address,
    header_date,
    message_ids,
)
from channels_app.email.quotes import html_reply_text, split_reply
from channels_app.email.tokens import ticket_from_addresses
from supportdesk.sanitize import sanitize_html
from tickets.inbound import IdentityClaim, InboundMessage

logger = logging.getLogger(__name__)

MAX_HEADER_BYTES = 256 * 1024
# A mail that names no usable sender is filed under this address (the .invalid
# top-level domain never resolves): kept and shown, never answered by mail.
UNKNOWN_SENDER = "unknown-sender@unknown.invalid"
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_SUBJECT_TICKET = re.compile(r"\[#(\d{1,18})\]")
# Who wrote the mail, in order of trust; later ones stand in when earlier are unusable.
_SENDER_HEADERS = ("From", "Reply-To", "Sender", "Return-Path")
# Where a reply address with a ticket token may appear: To and Cc, then the
# envelope recipients some servers record (the token was in Bcc).
_RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
_KEPT_HEADERS = (
    "Auto-Submitted",
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponder",
    "Precedence",
    "List-Id",
    "X-Failed-Recipients",
    "Return-Path",
    "X-Mailer",
    "User-Agent",
    # Put by the doors on the stand-in of a mail too large to store.
    "X-Desk-Oversized",
)


def _header_section(raw: bytes) -> bytes:
    end = _HEADER_END.search(raw, 0, MAX_HEADER_BYTES)
    if end:
        return raw[: end.start()] + b"\r\n"
    head = raw[:MAX_HEADER_BYTES]
    return head[: head.rfind(b"\n") + 1] if b"\n" in head else b""


def _parse(raw: bytes, *, headers_only: bool = False) -> Message:
    parser = BytesParser(policy=compat32)
    try:
        return parser.parsebytes(raw, headersonly=headers_only)
    except Exception:  # nesting too deep for the parser, say: headers at least
        return parser.parsebytes(_header_section(raw), headersonly=True)


def mail_message_id(raw: bytes) -> str:
    """The normalised Message-ID of a raw mail, read from its headers; "" if none."""
    ids = message_ids(Headers(_parse(raw, headers_only=True)).raw("Message-ID"))
    return ids[0] if ids else ""


def _sender(headers: Headers) -> tuple[str, str]:
    """(display name, address) of the first usable sender address."""
    for name in _SENDER_HEADERS:
        for display_name, written in headers.addresses(name):
            address = autoreply.valid_address(written)
            if address:
                return display_name, address
    return "", ""


def _within_limits(text: str, quoted: str, html: str, notes: list[str]):
    limit = settings.MAX_MESSAGE_TEXT_CHARS
    if len(text) > limit:
        note = f"\n\n(The text was cut at {limit} characters; the mail is kept whole.)"
        text = text[: limit - len(note)] + note if limit > len(note) else text[:limit]
        notes.append(f"The text of this mail was cut at {limit} characters.")
    if len(quoted) > limit:
        quoted = quoted[:limit]
        notes.append(f"The quoted history of this mail was cut at {limit} characters.")
    if len(html) > limit:
        html = ""
        notes.append(
            f"The HTML of this mail is over {limit} characters: only its text is shown."
        )
    return text, quoted, html


def _body(message: Message, notes: list[str]) -> mime.Body:
    try:
        return mime.extract(message)
    except Exception as exc:  # never lose a mail to a parser surprise
        logger.warning("mail body unreadable: %r", exc)
        notes.append(f"The body of this mail could not be read ({type(exc).__name__}).")
        return mime.Body()


def _is_own_address(address: str, inbox) -> bool:
    own = str((inbox.config if inbox is not None else {}).get("address") or "")
    return bool(own) and autoreply.valid_address(parseaddr(own)[1]) == address


def parse_email(raw: bytes, *, inbox=None) -> InboundMessage:
    """The InboundMessage of one raw mail. Never raises: what cannot be read is
    said in a note on the message (metadata["notes"])."""
    size, limit = len(raw), settings.MAX_EMAIL_BYTES
    oversized = size > limit
    message = _parse(raw, headers_only=oversized)
    headers = Headers(message, mime.charset_of(message))
    ctype = mime.content_type(message)
    notes: list[str] = []
    body = mime.Body() if oversized else _body(message, notes)

    from_pairs = headers.addresses("From")
    written_from = from_pairs[0][1] if from_pairs else ""
    sender_name, sender = _sender(headers)
    reason = autoreply.automated_reason(headers, ctype=ctype, sender=written_from)
    if not reason and sender and _is_own_address(sender, inbox):
        reason = "sent from the inbox's own address"
    bounced: list[str] = []
    report_type = mime.param(message, "report-type").lower()
    if reason and autoreply.is_bounce(
        headers, ctype=ctype, report_type=report_type, sender=written_from
    ):
        bounced = autoreply.bounced_recipients(headers, body)
        if bounced:
            # The timeline it belongs on is that of the person who could not be
            # reached, not the mail server's.
            sender_name, sender = "", bounced[0]
    if not sender:
        # What the From header says, if anything, stays in metadata["from"].
        sender_name, sender = "Unknown sender", UNKNOWN_SENDER
        notes.append(
            "This mail names no sender (no valid address in From, Reply-To, Sender "
            "or Return-Path): it is filed under an unknown sender and cannot be "
            "answered by mail."
        )

    ids = message_ids(headers.raw("Message-ID"))
    external_id = ids[0] if ids else "sha256:" + hashlib.sha256(raw).hexdigest()
    in_reply_to = message_ids(headers.raw("In-Reply-To"))
    references = message_ids(" ".join(headers.all_raw("References")))[-MAX_REFERENCES:]
    answered = autoreply.answered_ids(body) if reason else []
    replies_to = [
        i
        for i in dict.fromkeys([*in_reply_to, *reversed(references), *answered])
        if i != external_id
    ]

    subject = headers.text("Subject")
    html = sanitize_html("\n".join(h for h in body.htmls if h.strip()))
    if oversized:
        text = (
            f"(This mail of {size} bytes is over the {limit}-byte limit; "
            "its body was not stored.)"
        )
        quoted = ""
    else:
        plain = "\n".join(t for t in body.texts if t.strip())
        text, quoted = split_reply(plain or html_reply_text(html), subject=subject)
    text, quoted, html = _within_limits(text, quoted, html, notes)

    recipients = [a for _, a in headers.addresses(*_RECIPIENT_HEADERS)]
    subject_ticket = _SUBJECT_TICKET.search(subject)
    metadata = {
        "message_id": ids[0] if ids else "",
        "in_reply_to": in_reply_to,
        "references": references,
        "from": format_address(*from_pairs[0]) if from_pairs else "",
        "reply_to": [format_address(*p) for p in headers.addresses("Reply-To")],
        "to": [format_address(*p) for p in headers.addresses("To")],
        "cc": [format_address(*p) for p in headers.addresses("Cc")],
        "headers": {n: headers.text(n)[:300] for n in _KEPT_HEADERS if n in headers},
        "size": size,
    }
    if reason:
        metadata["automated"] = reason
    if bounced:
        metadata["bounced_recipients"] = bounced
    if notes:
        metadata["notes"] = notes
    return InboundMessage(
        channel="email",
        external_id=external_id,
        identities=(IdentityClaim(kind="email", value=sender),),
        sender_name=sender_name[:200],
        subject=subject,
        text=text,
        quoted_text=quoted,
        html=html,
        occurred_at=header_date(headers.raw("Date")),
        replies_to=tuple(replies_to),
        conversation_key="",
        continues_open_conversation=False,
        automated=bool(reason),
        language=headers.raw("Content-Language").split(",")[0].strip()[:16],
        attachments=tuple(body.attachments),
        metadata=metadata,
        ticket_token=ticket_from_addresses(recipients),
        subject_ticket=int(subject_ticket.group(1)) if subject_ticket else None,
    )
