"""Where a mail lands: the ticket it answers, or a new one."""

from email.message import EmailMessage

import pytest
from django.core import mail as django_mail
from django.test import TestCase

from channels_app.email.tokens import reply_address
from tests.channels_app.email.mail_support import event_of, new_mail, receive_mail
from tickets.actions.tickets import do_reply, do_resolve_ticket
from tickets.models import Ticket, TicketStatus, TimelineEvent

pytestmark = pytest.mark.django_db


def ticket_of(mail: EmailMessage) -> Ticket | None:
    return event_of(receive_mail(mail.as_bytes())).ticket


def first_ticket(**fields) -> tuple[Ticket, EmailMessage]:
    first = new_mail(subject="Printer on fire", **fields)
    ticket = ticket_of(first)
    assert ticket is not None
    return ticket, first


def agent_reply(ticket: Ticket, agent) -> EmailMessage:
    """An agent answers by mail; the mail the customer receives."""
    django_mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        do_reply(ticket=ticket, author=agent, text="Have you tried water?")
    (sent,) = django_mail.outbox
    return sent.message()


def test_a_reply_naming_an_earlier_mail_in_in_reply_to_threads_onto_its_ticket(teams):
    ticket, first = first_ticket()

    reply = new_mail(subject="Re: Printer on fire", In_Reply_To=first["Message-ID"])

    assert ticket_of(reply) == ticket
    assert Ticket.objects.count() == 1


def test_a_reply_naming_an_earlier_mail_only_in_references_threads(teams):
    ticket, first = first_ticket()

    reply = new_mail(References=f"<unknown@elsewhere.example> {first['Message-ID']}")

    assert ticket_of(reply) == ticket


def test_a_corpus_reply_threads_onto_the_ticket_of_the_mail_it_answers(
    corpus_dir, teams
):
    fixtures = corpus_dir / "email" / "desk-fixtures"
    original = event_of(receive_mail((fixtures / "support.eml").read_bytes()))

    reply = event_of(receive_mail((fixtures / "in_reply_to.eml").read_bytes()))

    assert reply.ticket == original.ticket
    assert reply.metadata["in_reply_to"] == [original.external_id]


def test_the_customers_reply_to_an_agents_mail_threads_onto_the_ticket(
    teams, tech_agent
):
    ticket, _ = first_ticket()
    sent = agent_reply(ticket, tech_agent)
    outbound = ticket.events.get(kind=TimelineEvent.Kind.MESSAGE_OUT)
    assert outbound.external_id == sent["Message-ID"]

    reply = new_mail(
        to=sent["Reply-To"],
        subject=sent["Subject"],
        In_Reply_To=sent["Message-ID"],
        References=sent["References"] + " " + sent["Message-ID"],
    )

    assert ticket_of(reply) == ticket


def test_a_reply_address_in_cc_threads_even_from_another_sender(teams):
    ticket, _ = first_ticket()

    colleague = new_mail(
        sender="Bob <bob@example.org>",
        to="boss@example.org",
        Cc=f"Help desk <{reply_address(ticket_id=ticket.pk)}>",
    )

    event = event_of(receive_mail(colleague.as_bytes()))
    assert event.ticket == ticket
    assert event.customer != ticket.customer


def test_a_forged_reply_address_opens_a_new_ticket(teams):
    ticket, _ = first_ticket()

    forged = new_mail(
        sender="mallory@example.net",
        to=f"help+t{ticket.pk}-aaaaaaaaaa@desk.example",
    )

    assert ticket_of(forged) not in (None, ticket)


def test_a_ticket_number_in_the_subject_counts_from_the_tickets_customer(teams):
    ticket, _ = first_ticket()

    again = new_mail(subject=f"Still broken [#{ticket.pk}]")

    assert ticket_of(again) == ticket


def test_a_ticket_number_in_the_subject_from_someone_else_opens_a_new_ticket(teams):
    ticket, _ = first_ticket()

    stranger = new_mail(sender="eve@example.net", subject=f"About [#{ticket.pk}]")

    other = ticket_of(stranger)
    assert other is not None
    assert other != ticket


def test_a_mail_that_matches_nothing_opens_a_new_ticket(teams):
    first_ticket()

    assert ticket_of(new_mail(subject="Another thing")) is not None
    assert Ticket.objects.count() == 2


def test_an_auto_reply_joins_the_ticket_it_answers_as_a_system_event(teams, tech_agent):
    ticket, _ = first_ticket()
    sent = agent_reply(ticket, tech_agent)
    do_resolve_ticket(ticket=ticket, actor=tech_agent, resolution_note="Water.")
    django_mail.outbox.clear()

    vacation = new_mail(
        subject="Out of office: " + sent["Subject"],
        text="I am away until Monday.",
        In_Reply_To=sent["Message-ID"],
        Auto_Submitted="auto-replied",
    )
    event = event_of(receive_mail(vacation.as_bytes()))

    assert (event.ticket, event.kind) == (ticket, TimelineEvent.Kind.SYSTEM)
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED  # a robot does not reopen it
    assert django_mail.outbox == []  # and nothing answers a robot


def test_an_auto_reply_that_answers_nothing_opens_no_ticket(teams):
    vacation = new_mail(text="Away", X_Autoreply="yes")

    event = event_of(receive_mail(vacation.as_bytes()))

    assert event.ticket is None
    assert not Ticket.objects.exists()


def test_a_bounce_of_an_agents_reply_lands_on_that_ticket(teams, tech_agent):
    ticket, _ = first_ticket()
    sent = agent_reply(ticket, tech_agent)
    bounce = EmailMessage()
    bounce["From"] = "Mail Delivery Subsystem <mailer-daemon@mx.example.com>"
    bounce["To"] = sent["From"]
    bounce["Subject"] = "Delivery Status Notification (Failure)"
    bounce["Auto-Submitted"] = "auto-replied"
    bounce["X-Failed-Recipients"] = "ana@example.com"
    bounce.set_content("Your message wasn't delivered to ana@example.com.")
    bounce.add_attachment(sent)

    event = event_of(receive_mail(bounce.as_bytes()))

    assert (event.ticket, event.kind) == (ticket, TimelineEvent.Kind.SYSTEM)
    assert event.customer == ticket.customer
    assert event.metadata["bounced_recipients"] == ["ana@example.com"]
    assert Ticket.objects.count() == 1
