"""Mail through the desk's own door, for the tests of the email channel."""

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.test import TestCase
from django.utils import timezone

from channels_app.email.parse import mail_message_id
from channels_app.ingest import process_inbound, receive_inbound
from channels_app.models import InboundRecord
from tickets.models import TimelineEvent


def receive_mail(raw: bytes, *, inbox: str = "") -> InboundRecord:
    """Store a raw mail as the doors do and let what it queues run."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        record, _ = receive_inbound(
            channel="email",
            payload=raw,
            external_id=mail_message_id(raw),
            inbox=inbox,
            content_type="message/rfc822",
        )
    record.refresh_from_db()
    if record.status == InboundRecord.Status.RECEIVED:
        with TestCase.captureOnCommitCallbacks(execute=True):
            record = process_inbound(record.pk)
    return record


def event_of(record: InboundRecord) -> TimelineEvent:
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    return TimelineEvent.objects.get(pk=record.event_ids[0])


def new_mail(
    *,
    sender: str = "Ana Lima <ana@example.com>",
    to: str = "help@desk.example",
    subject: str = "Help",
    text: str = "Hello",
    **headers: str,
) -> EmailMessage:
    """A mail as a client writes it; extra headers by name, e.g. In_Reply_To."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(timezone.now())
    mail["Message-ID"] = make_msgid(domain="mail.example.com")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(text)
    return mail


def raw_mail(*headers: str, body: str | bytes = "Hello", charset: str = "") -> bytes:
    """A mail written byte for byte: headers as given, then the body."""
    lines = list(headers)
    if charset:
        lines.append(f"Content-Type: text/plain; charset={charset}")
    head = "\r\n".join(lines).encode("utf-8") + b"\r\n\r\n"
    return head + (body.encode("utf-8") if isinstance(body, str) else body)


def corpus(corpus_dir, name: str) -> bytes:
    return (corpus_dir / "email" / name).read_bytes()
