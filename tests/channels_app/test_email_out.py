"""Replies leave by mail through a real SMTP server on loopback, threaded so the
customer's mail client and the desk both keep the conversation together."""

import time
from email.message import EmailMessage
from email.utils import formatdate

import pytest
from django.test import TestCase

from channels_app.email.send import reply_subject, thread_ids
from channels_app.ingest import process_inbound, receive_inbound
from channels_app.models import InboundRecord, Inbox
from supportdesk.registry import get_adapter
from tests.helpers import deliver, message
from tests.smtp_server import SmtpServer, free_port, use_smtp
from tickets.actions.tickets import do_reply
from tickets.models import Ticket, TimelineEvent
from tickets.outbound import OutboundMessage
from tickets.tasks import send_outbound

pytestmark = pytest.mark.django_db

CUSTOMER_MAIL_ID = "<abc@customer.example>"


@pytest.fixture
def ticket(teams) -> Ticket:
    """Ana's mail about a missing invoice opened this ticket."""
    record = deliver(
        message(
            "email",
            external_id=CUSTOMER_MAIL_ID,
            sender_name="Ana Silva",
            subject="Invoice missing",
            text="I cannot find my invoice for March.",
        )
    )
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def reply(ticket, author, text="We found your invoice.", **fields) -> TimelineEvent:
    with TestCase.captureOnCommitCallbacks(execute=True):
        event = do_reply(ticket=ticket, author=author, text=text, **fields)
    event.refresh_from_db()
    return event


def ticket_named_by(address: str) -> int | None:
    from channels_app.email.tokens import ticket_from_addresses

    return ticket_from_addresses([address])


def receive_mail(raw: bytes, message_id: str) -> TimelineEvent:
    """A raw mail through the desk's mail door, processed as a worker would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        record, _ = receive_inbound(
            channel="email", payload=raw, external_id=message_id
        )
    record.refresh_from_db()
    if record.status == InboundRecord.Status.RECEIVED:
        with TestCase.captureOnCommitCallbacks(execute=True):
            record = process_inbound(record.pk)
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    return TimelineEvent.objects.get(pk=record.event_ids[0])


def customer_mail(*, to: str, subject: str, message_id: str, **headers) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Ana Silva <ana@example.com>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = message_id
    mail["Date"] = formatdate()
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("Thank you, that was it.\n")
    return mail.as_bytes()


# ---------------------------------------------------------------- an agent's reply


def test_an_agent_reply_reaches_the_mail_server_threaded_under_the_customer_mail(
    smtp_server, ticket, tech_agent, settings
):
    event = reply(ticket, tech_agent)

    [sent] = smtp_server.received
    mail = sent.message
    assert sent.recipients == ("ana@example.com",)
    assert mail["To"] == "ana@example.com"
    assert mail["From"] == settings.DEFAULT_FROM_EMAIL
    assert mail["Subject"] == f"Re: Invoice missing [#{ticket.pk}]"
    assert mail["In-Reply-To"] == CUSTOMER_MAIL_ID
    assert mail["References"] == CUSTOMER_MAIL_ID
    assert mail["Message-ID"] == event.external_id
    assert "Auto-Submitted" not in mail
    assert ticket_named_by(mail["Reply-To"]) == ticket.pk
    assert mail.get_content().strip() == "We found your invoice."
    assert event.delivery_status == TimelineEvent.Delivery.SENT
    assert event.delivery_error == ""
    assert event.metadata["replies_to"] == [CUSTOMER_MAIL_ID]


def test_a_second_reply_answers_the_first_and_references_the_whole_thread(
    smtp_server, ticket, tech_agent
):
    first = reply(ticket, tech_agent)
    second = reply(ticket, tech_agent, text="Did it arrive?")

    mail = smtp_server.received[1].message
    assert mail["Message-ID"] == second.external_id != first.external_id
    assert mail["In-Reply-To"] == first.external_id
    assert mail["References"].split() == [CUSTOMER_MAIL_ID, first.external_id]


def test_an_auto_reply_on_the_ticket_is_not_what_the_next_reply_answers(
    smtp_server, ticket, tech_agent
):
    first = reply(ticket, tech_agent)
    vacation = deliver(
        message(
            "email",
            external_id="<vacation@customer.example>",
            subject="Out of office",
            automated=True,
            replies_to=(first.external_id,),
        )
    )
    assert TimelineEvent.objects.get(pk=vacation.event_ids[0]).ticket_id == ticket.pk

    reply(ticket, tech_agent, text="Did it arrive?")

    mail = smtp_server.received[1].message
    assert mail["In-Reply-To"] == first.external_id
    assert mail["References"].split() == [CUSTOMER_MAIL_ID, first.external_id]


def test_a_reply_with_html_carries_text_and_html_alternatives(
    smtp_server, ticket, tech_agent
):
    reply(
        ticket,
        tech_agent,
        text="",
        html='<p>See <b>invoice</b> 117.</p><script>alert("x")</script>',
    )

    mail = smtp_server.received[0].message
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "See invoice 117." in " ".join(plain.split())
    assert "<b>invoice</b>" in html
    assert "script" not in html


def test_a_reply_on_a_ticket_from_an_inbox_is_sent_from_that_inbox(
    smtp_server, ticket, tech_agent
):
    inbox = Inbox.objects.create(
        adapter="email",
        name="Billing mail",
        slug="billing",
        config={"address": "billing@desk.example", "from_name": "Acme Billing"},
    )
    Ticket.objects.filter(pk=ticket.pk).update(inbox=inbox)

    event = reply(ticket, tech_agent)

    mail = smtp_server.received[0].message
    assert event.inbox == inbox
    [sender] = mail["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (
        "Acme Billing",
        "billing@desk.example",
    )
    assert sent_from(smtp_server) == "billing@desk.example"
    assert mail["Message-ID"].endswith("@desk.example>")
    assert ticket_named_by(mail["Reply-To"]) == ticket.pk


def sent_from(server: SmtpServer) -> str:
    return server.received[-1].mail_from


def test_an_automatic_message_says_so_and_an_agent_reply_does_not(smtp_server, ticket):
    adapter = get_adapter("email")
    base = {
        "channel": "email",
        "recipient_kind": "email",
        "recipient": "ana@example.com",
        "ticket_id": ticket.pk,
        "subject": "Invoice missing",
        "text": "We received your message.",
        "replies_to": (CUSTOMER_MAIL_ID,),
    }

    automatic_id = adapter.send(
        OutboundMessage(event_id=1, metadata={"automatic": True}, **base)
    )
    agent_id = adapter.send(OutboundMessage(event_id=2, **base))

    automatic, by_agent = (item.message for item in smtp_server.received)
    assert automatic["Message-ID"] == automatic_id
    assert automatic["Auto-Submitted"] == "auto-replied"
    assert by_agent["Message-ID"] == agent_id
    assert "Auto-Submitted" not in by_agent


# ------------------------------------------------------------ the customer answers


def test_the_customer_answer_to_a_sent_reply_threads_onto_the_same_ticket(
    smtp_server, ticket, tech_agent, settings
):
    sent = reply(ticket, tech_agent)
    other = deliver(message("email", subject="A different matter"))

    answer = receive_mail(
        customer_mail(
            to=settings.DEFAULT_FROM_EMAIL,
            subject="Thanks",
            message_id="<answer-1@customer.example>",
            In_Reply_To=sent.external_id,
            References=f"{CUSTOMER_MAIL_ID} {sent.external_id}",
        ),
        "<answer-1@customer.example>",
    )

    assert answer.ticket_id == ticket.pk
    assert answer.kind == TimelineEvent.Kind.MESSAGE_IN
    assert TimelineEvent.objects.get(pk=other.event_ids[0]).ticket_id != ticket.pk


def test_mail_to_the_reply_address_threads_onto_the_ticket_without_headers(
    smtp_server, ticket, tech_agent
):
    reply(ticket, tech_agent)
    reply_to = smtp_server.received[0].message["Reply-To"]

    answer = receive_mail(
        customer_mail(
            to=reply_to, subject="One more thing", message_id="<more@customer.example>"
        ),
        "<more@customer.example>",
    )

    assert answer.ticket_id == ticket.pk


# ------------------------------------------------------------------- delivery state


def test_with_the_mail_server_down_a_reply_is_retried_then_failed_with_the_reason(
    ticket, tech_agent, settings
):
    use_smtp(settings, port=free_port())
    settings.OUTBOUND_SEND_RETRIES = 2

    event = reply(ticket, tech_agent)

    assert event.delivery_status == TimelineEvent.Delivery.FAILED
    assert event.delivery_error.startswith("gave up after 3 attempts: ")
    assert "Connection refused" in event.delivery_error
    assert event.external_id == ""


def test_a_recipient_the_server_refuses_for_good_fails_at_once_with_its_reply(
    smtp_server, ticket, tech_agent, settings
):
    settings.OUTBOUND_SEND_RETRIES = 3
    smtp_server.refuse_recipients_with = "550 5.1.1 <ana@example.com>: no such user"

    event = reply(ticket, tech_agent)

    assert event.delivery_status == TimelineEvent.Delivery.FAILED
    assert "550" in event.delivery_error
    assert "no such user" in event.delivery_error
    assert "attempts" not in event.delivery_error
    assert smtp_server.refused == ["ana@example.com"]
    assert smtp_server.received == []


def test_a_temporary_refusal_is_retried_before_the_reply_fails(
    smtp_server, ticket, tech_agent, settings
):
    settings.OUTBOUND_SEND_RETRIES = 2
    smtp_server.refuse_recipients_with = "451 4.3.0 mailbox busy, try later"

    event = reply(ticket, tech_agent)

    assert event.delivery_status == TimelineEvent.Delivery.FAILED
    assert event.delivery_error.startswith("gave up after 3 attempts: ")
    assert "451" in event.delivery_error
    assert smtp_server.refused == ["ana@example.com"] * 3


def test_sending_a_sent_reply_again_sends_nothing(smtp_server, ticket, tech_agent):
    event = reply(ticket, tech_agent)

    assert send_outbound.delay(event.pk).get() == TimelineEvent.Delivery.SENT
    assert send_outbound(event.pk) == TimelineEvent.Delivery.SENT

    assert len(smtp_server.received) == 1
    event.refresh_from_db()
    assert event.external_id == smtp_server.received[0].message["Message-ID"]


# ------------------------------------------------------------------ helpers' rules


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Invoice missing", "Re: Invoice missing [#7]"),
        ("Re: Invoice missing", "Re: Invoice missing [#7]"),
        ("RE: Invoice missing [#7]", "RE: Invoice missing [#7]"),
        ("AW: Rechnung", "AW: Rechnung [#7]"),
        ("Invoice\r\n missing", "Re: Invoice missing [#7]"),
        ("", "Re: [#7]"),
    ],
)
def test_the_subject_says_re_once_and_names_the_ticket_once(subject, expected):
    assert reply_subject(subject, 7) == expected


def test_only_message_ids_are_named_in_the_threading_headers():
    ids = ["<a@x.example>", "b@y.example", "wamid.123", "<a@x.example>", "<c d@z>"]

    assert thread_ids(ids) == ["<a@x.example>", "<b@y.example>"]


# --------------------------------------------------------------- with a real worker


def wait_for(condition, *, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def mail_worker(request, monkeypatch):
    """A worker whose mail goes to a loopback port where no server listens yet."""
    port = free_port()
    monkeypatch.setenv("EMAIL_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.delenv("EMAIL_BACKEND", raising=False)
    monkeypatch.setenv("OUTBOUND_RETRY_SECONDS", "1")
    monkeypatch.setenv("OUTBOUND_SEND_RETRIES", "8")
    request.getfixturevalue("desk_worker")
    return port


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_a_reply_queued_while_the_server_is_down_then_sends_it(
    mail_worker, ticket, tech_agent
):
    event = do_reply(ticket=ticket, author=tech_agent, text="We found your invoice.")

    queued = wait_for(
        lambda: TimelineEvent.objects.filter(
            pk=event.pk, delivery_error__startswith="attempt "
        ).first(),
        what="an attempt to fail",
    )
    assert queued.delivery_status == TimelineEvent.Delivery.QUEUED
    assert "Connection refused" in queued.delivery_error

    server = SmtpServer(port=mail_worker).start()
    try:
        sent = wait_for(
            lambda: TimelineEvent.objects.filter(
                pk=event.pk, delivery_status=TimelineEvent.Delivery.SENT
            ).first(),
            what="a retry to send the reply",
        )
    finally:
        server.stop()

    [received] = server.received
    assert received.message["Message-ID"] == sent.external_id
    assert received.message["In-Reply-To"] == CUSTOMER_MAIL_ID
    assert sent.delivery_error == ""
