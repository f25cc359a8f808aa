import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import TestCase

from channels_app.adapters import memory
from tests.helpers import deliver, message
from tickets.actions.tickets import (
    TicketActionError,
    do_add_note,
    do_assign_ticket,
    do_change_status,
    do_reply,
    do_resolve_ticket,
)
from tickets.models import Ticket, TicketStatus, TimelineEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(teams) -> Ticket:
    """Ana's email ticket, routed to Technical support; she also uses WhatsApp."""
    deliver(
        message("whatsapp", ("whatsapp", "14155552671"), ("email", "ana@example.com"))
    )
    record = deliver(message("email", subject="Login fails", text="I cannot log in"))
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


# ------------------------------------------------------------------- resolving


def test_resolving_needs_a_resolution_note(ticket, tech_agent):
    for note in ("", "  \n"):
        with pytest.raises(TicketActionError):
            do_resolve_ticket(ticket=ticket, actor=tech_agent, resolution_note=note)

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW
    assert not ticket.events.filter(kind=TimelineEvent.Kind.STATUS_CHANGE).exists()


def test_resolving_keeps_the_note_on_the_ticket_and_the_timeline(ticket, tech_agent):
    do_resolve_ticket(
        ticket=ticket, actor=tech_agent, resolution_note=" Reset the password. "
    )

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.resolution_note == "Reset the password."
    assert ticket.resolved_at is not None
    event = ticket.events.get(kind=TimelineEvent.Kind.STATUS_CHANGE)
    assert event.author == tech_agent
    assert event.metadata == {"from": "new", "to": "resolved"}
    assert event.text == "Status new → resolved. Resolution: Reset the password."


def test_the_database_refuses_a_resolved_ticket_without_a_note(ticket):
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.RESOLVED)


def test_an_unknown_status_is_refused(ticket, tech_agent):
    with pytest.raises(TicketActionError):
        do_change_status(ticket=ticket, status="archived", actor=tech_agent)


# --------------------------------------------------------------------- replies


def reply(ticket, author, text="We are on it.", **fields):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return do_reply(ticket=ticket, author=author, text=text, **fields)


def test_a_reply_is_stored_queued_and_the_send_task_sends_it(ticket, tech_agent):
    with TestCase.captureOnCommitCallbacks(execute=False) as after_commit:
        event = do_reply(ticket=ticket, author=tech_agent, text=" We are on it. ")

    event.refresh_from_db()
    assert event.kind == TimelineEvent.Kind.MESSAGE_OUT
    assert event.delivery_status == TimelineEvent.Delivery.QUEUED
    assert mail.outbox == []

    for callback in after_commit:
        callback()

    event.refresh_from_db()
    assert event.delivery_status == TimelineEvent.Delivery.SENT
    [sent] = mail.outbox
    assert event.external_id == sent.extra_headers["Message-ID"]
    assert sent.to == ["ana@example.com"]
    assert (sent.subject, sent.body) == (
        f"Re: Login fails [#{ticket.pk}]",
        "We are on it.",
    )


def test_a_reply_can_go_out_on_another_channel_the_customer_used(
    ticket, tech_agent, settings
):
    # Recorded rather than sent: the WhatsApp adapter has its own tests.
    settings.CHANNEL_ADAPTERS = {
        **settings.CHANNEL_ADAPTERS,
        "whatsapp": memory.recording(settings.CHANNEL_ADAPTERS["whatsapp"]),
    }
    event = reply(ticket, tech_agent, channel="whatsapp")

    [sent] = memory.outbox
    assert (sent.channel, sent.recipient_kind, sent.recipient) == (
        "whatsapp",
        "whatsapp",
        "+14155552671",
    )
    assert event.ticket_id == ticket.pk


def test_a_reply_goes_to_the_address_the_customer_wrote_from(teams, tech_agent):
    """A customer with two addresses is answered at the one the ticket came from."""
    deliver(message("email", ("email", "ana@example.com"), ("email", "ana@work.test")))
    record = deliver(
        message("email", ("email", "ana@work.test"), subject="Invoice copy")
    )
    ticket = TimelineEvent.objects.get(pk=record.event_ids[0]).ticket
    home = deliver(message("email", subject="Password reset"))
    home_ticket = TimelineEvent.objects.get(pk=home.event_ids[0]).ticket

    reply(ticket, tech_agent)
    reply(home_ticket, tech_agent)

    assert [sent.to for sent in mail.outbox] == [
        ["ana@work.test"],
        ["ana@example.com"],
    ]


def test_a_reply_on_a_channel_the_customer_never_used_is_refused(ticket, tech_agent):
    with pytest.raises(TicketActionError):
        reply(ticket, tech_agent, channel="telegram")

    assert memory.outbox == []
    assert not ticket.events.filter(kind=TimelineEvent.Kind.MESSAGE_OUT).exists()


def test_an_empty_reply_is_refused(ticket, tech_agent):
    with pytest.raises(TicketActionError):
        reply(ticket, tech_agent, text="  ", html="<p> </p>")

    assert mail.outbox == []


def test_the_first_reply_sets_the_first_response_time_and_opens_the_ticket(
    ticket, tech_agent
):
    first = reply(ticket, tech_agent)
    reply(ticket, tech_agent, text="Any news?")

    ticket.refresh_from_db()
    assert ticket.first_response_at == first.occurred_at
    assert ticket.last_message_at > first.occurred_at
    assert ticket.status == TicketStatus.OPEN
    assert len(mail.outbox) == 2


def test_a_reply_that_rolls_back_sends_nothing(ticket, tech_agent):
    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        do_reply(ticket=ticket, author=tech_agent, text="Draft")
        transaction.set_rollback(True)

    assert mail.outbox == []
    ticket.refresh_from_db()
    assert ticket.first_response_at is None


# ----------------------------------------------------------------------- notes


def test_a_note_stays_inside_the_desk(ticket, tech_agent):
    with TestCase.captureOnCommitCallbacks(execute=True):
        note = do_add_note(ticket=ticket, author=tech_agent, text=" Known outage ")

    assert mail.outbox == []
    assert memory.outbox == []
    assert (note.kind, note.text, note.delivery_status) == ("note", "Known outage", "")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None


def test_an_empty_note_is_refused(ticket, tech_agent):
    with pytest.raises(TicketActionError):
        do_add_note(ticket=ticket, author=tech_agent, text="   ")


# ------------------------------------------------------------------ assignment


def test_only_an_agent_of_the_owning_team_can_be_assigned(
    ticket, billing_agent, tech_agent
):
    with pytest.raises(TicketActionError):
        do_assign_ticket(ticket=ticket, assignee=billing_agent)

    do_assign_ticket(ticket=ticket, assignee=tech_agent)

    ticket.refresh_from_db()
    assert ticket.assignee == tech_agent
