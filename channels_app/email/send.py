"""The desk's outgoing mail: an agent's reply or an automatic message, threaded so
the customer's mail client shows it in the conversation, sent through Django's
email backend (SMTP from EMAIL_URL, or any backend EMAIL_BACKEND names)."""

import re
import smtplib
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from channels_app.email.tokens import reply_address
from tickets.outbound import DeliveryRefusedError, OutboundMessage

# "Re:" as mail clients write it in various languages, with a count or without.
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|antw|odp)(\[\d+\])?\s*:", re.IGNORECASE)


def sender_address(inbox=None) -> str:
    """From: the inbox's address under its display name, else DEFAULT_FROM_EMAIL."""
    config = inbox.config if inbox is not None else {}
    address = str(config.get("address") or "").strip()
    if not address:
        return settings.DEFAULT_FROM_EMAIL
    name = str(config.get("from_name") or settings.EMAIL_FROM_NAME or "").strip()
    return formataddr((name, address)) if name else address


def message_id_domain(from_address: str) -> str:
    """The right-hand side of the desk's Message-IDs: EMAIL_MESSAGE_ID_DOMAIN when
    set, else the domain of the address the mail is sent from."""
    if settings.EMAIL_MESSAGE_ID_DOMAIN:
        return settings.EMAIL_MESSAGE_ID_DOMAIN
    _, address = parseaddr(from_address)
    return address.rpartition("@")[2].strip() or "localhost"


def reply_subject(subject: str, ticket_id: int | None) -> str:
    """The subject of a reply, "Re: <subject> [#<ticket>]", with one "Re:" and
    one ticket tag however many the subject already had."""
    subject = " ".join(subject.split())
    tag = f"[#{ticket_id}]" if ticket_id else ""
    if tag and tag not in subject:
        subject = f"{subject} {tag}".strip()
    if not _REPLY_PREFIX.match(subject):
        subject = f"Re: {subject}".rstrip()
    return subject


def thread_ids(ids) -> list[str]:
    """The message ids worth naming in In-Reply-To and References: RFC 5322 ids
    only (ids of other providers stored on the channel are skipped), each once."""
    seen: list[str] = []
    for raw in ids:
        core = str(raw).strip()
        if core.startswith("<") and core.endswith(">"):
            core = core[1:-1]
        local, at, domain = core.rpartition("@")
        if not (local and at and domain):
            continue
        if any(char.isspace() or char in "<>" for char in core):
            continue
        if f"<{core}>" not in seen:
            seen.append(f"<{core}>")
    return seen


def build_mail(
    message: OutboundMessage, *, inbox=None, connection=None
) -> EmailMultiAlternatives:
    """The mail for an outbound message; its Message-ID header is set."""

    if "@" not in parseaddr(message.recipient)[1]:
        raise DeliveryRefusedError(f"{message.recipient!r} is not an email address")
    from_address = sender_address(inbox)
    headers = {"Message-ID": make_msgid(domain=message_id_domain(from_address))}
    references = thread_ids(message.replies_to)
    if references:
        headers["In-Reply-To"] = references[-1]
        headers["References"] = " ".join(references)
    if message.metadata.get("automatic"):
        # RFC 3834: other robots (vacation replies, the customer's own desk) leave
        # it unanswered, so two automatic senders never talk in a loop.
        headers["Auto-Submitted"] = "auto-replied"
    reply_to = []
    if message.ticket_id:
        reply_to.append(reply_address(ticket_id=message.ticket_id, inbox=inbox))
    mail = EmailMultiAlternatives(
        subject=reply_subject(message.subject, message.ticket_id),
        body=message.text,
        from_email=from_address,
        to=[message.recipient],
        reply_to=reply_to,
        headers=headers,
        connection=connection,
    )
    if message.html:
        mail.attach_alternative(message.html, "text/html")
    return mail


def send_mail_message(message: OutboundMessage, *, inbox=None) -> str:
    """Send the mail; return its Message-ID. A permanent refusal (5xx) raises
    DeliveryRefusedError; a temporary one (4xx, no connection) raises as it came,
    so the caller retries."""
    mail = build_mail(message, inbox=inbox, connection=get_connection())
    try:
        sent = mail.send(fail_silently=False)
    except Exception as exc:
        reason = refusal_reason(exc)
        if reason:
            raise DeliveryRefusedError(reason) from exc
        raise
    if not sent:
        raise DeliveryRefusedError("the email backend accepted no recipient")
    return mail.extra_headers["Message-ID"]


def _decoded(text) -> str:
    if isinstance(text, bytes):
        return text.decode("utf-8", errors="replace")
    return str(text)


def refusal_reason(exc: Exception) -> str:
    """Why a server refused the mail for good, or "" when a retry may succeed."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = exc.recipients.items()
        if refused and all(500 <= code < 600 for _, (code, _) in refused):
            return "; ".join(
                f"{address} refused: {code} {_decoded(reply)}"
                for address, (code, reply) in refused
            )
        return ""
    if isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600:
        reply = _decoded(exc.smtp_error)
        return f"the mail server refused the mail: {exc.smtp_code} {reply}"
    try:
        from anymail.exceptions import AnymailRecipientsRefused
    except ImportError:  # an ESP backend is optional
        return ""
    if isinstance(exc, AnymailRecipientsRefused):
        return f"the provider refused every recipient: {exc}"
    return ""
