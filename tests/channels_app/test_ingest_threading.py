"""Where ingestion puts a message: which customer, which timeline, which ticket."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from channels_app.models import InboundRecord
from customers.models import Customer, CustomerMerge, MergeSuggestion
from tests.helpers import deliver, message
from tickets.actions.tickets import do_change_status, do_resolve_ticket
from tickets.models import Ticket, TicketStatus, TimelineEvent
from tickets.timeline import customer_timeline

pytestmark = pytest.mark.django_db

# ------------------------------------------------------------------ one timeline


def test_an_email_carrying_a_known_phone_joins_the_whatsapp_timeline(teams, supervisor):
    now = timezone.now()
    deliver(
        message(
            "whatsapp",
            ("whatsapp", "14155552671"),
            text="My router is down",
            occurred_at=now - timedelta(hours=2),
        )
    )
    deliver(
        message(
            "email",
            ("email", "ana@example.com"),
            ("phone", "(415) 555-2671"),
            text="Following up by mail",
            occurred_at=now - timedelta(hours=1),
        )
    )

    customer = Customer.objects.get()
    page = customer_timeline(viewer=supervisor, customer_id=customer.pk)
    said = [(e.channel, e.text) for e in page.events if e.kind == "message_in"]
    assert said == [
        ("email", "Following up by mail"),
        ("whatsapp", "My router is down"),
    ]
    stamps = [(e.occurred_at, e.pk) for e in page.events]
    assert stamps == sorted(stamps, reverse=True)


def test_a_whatsapp_from_a_number_known_as_a_phone_joins_that_timeline(
    teams, supervisor
):
    deliver(
        message(
            "email",
            ("email", "ana@example.com"),
            ("phone", "(415) 555-2671"),
            text="Please call me",
        )
    )
    deliver(message("whatsapp", ("whatsapp", "14155552671"), text="Or write here"))

    customer = Customer.objects.get()
    page = customer_timeline(viewer=supervisor, customer_id=customer.pk)
    said = [(e.channel, e.text) for e in page.events if e.kind == "message_in"]
    assert said == [("whatsapp", "Or write here"), ("email", "Please call me")]
    assert customer.identities.filter(kind="whatsapp", value="+14155552671").exists()


def test_a_message_tying_two_customers_together_suggests_a_merge_only(teams):
    deliver(message("email", ("email", "ana@example.com"), text="Mail"))
    deliver(message("whatsapp", ("whatsapp", "14155552671"), text="Chat"))
    ana = Customer.objects.get(identities__value="ana@example.com")
    texter = Customer.objects.get(identities__kind="whatsapp")

    record = deliver(
        message(
            "email",
            ("email", "ana@example.com"),
            ("phone", "+14155552671"),
            text="Both",
        )
    )

    assert record.status == InboundRecord.Status.PROCESSED
    suggestion = MergeSuggestion.objects.get()
    assert (suggestion.customer, suggestion.other) == (ana, texter)
    assert suggestion.status == MergeSuggestion.Status.PENDING
    assert not CustomerMerge.objects.exists()
    assert not Customer.objects.filter(merged_into__isnull=False).exists()
    assert TimelineEvent.objects.get(text="Both").customer == ana
    assert set(
        texter.timeline.filter(kind="message_in").values_list("text", flat=True)
    ) == {"Chat"}


# --------------------------------------------------------------------- threading


def test_a_chat_message_continues_the_open_ticket_on_that_channel(teams):
    deliver(message("chat", ("web", "visitor-1"), text="Hi"))
    deliver(message("chat", ("web", "visitor-1"), text="Still there?"))

    ticket = Ticket.objects.get()
    texts = ticket.events.filter(kind="message_in").order_by("id")
    assert list(texts.values_list("text", flat=True)) == ["Hi", "Still there?"]


@override_settings(REOPEN_WINDOW_HOURS=24)
def test_a_chat_message_after_the_reopen_window_opens_a_new_ticket(teams):
    deliver(
        message(
            "chat",
            ("web", "visitor-1"),
            text="Yesterday",
            occurred_at=timezone.now() - timedelta(hours=25),
        )
    )
    deliver(message("chat", ("web", "visitor-1"), text="Today"))

    assert Ticket.objects.count() == 2
    assert Ticket.objects.order_by("id").last().events.get(kind="message_in").text == (
        "Today"
    )


def test_a_chat_message_does_not_continue_a_ticket_on_another_channel(teams):
    deliver(message("whatsapp", ("whatsapp", "14155552671")))
    deliver(message("sms", ("sms", "+14155552671")))

    assert Customer.objects.count() == 1
    assert sorted(Ticket.objects.values_list("channel", flat=True)) == [
        "sms",
        "whatsapp",
    ]


def test_an_email_without_references_opens_a_new_ticket(teams):
    deliver(message("email", subject="Invoice"))
    deliver(message("email", subject="Password"))

    assert Customer.objects.count() == 1
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Invoice",
        "Password",
    ]


def test_an_email_reply_threads_onto_its_ticket_and_reopens_it(teams, supervisor):
    deliver(message("email", external_id="<a1@mail.example.com>", subject="Refund"))
    ticket = Ticket.objects.get()
    do_resolve_ticket(ticket=ticket, actor=supervisor, resolution_note="Refunded.")

    deliver(
        message(
            "email",
            external_id="<a2@mail.example.com>",
            subject="Re: Refund",
            replies_to=("<unknown@elsewhere>", "<a1@mail.example.com>"),
        )
    )

    ticket.refresh_from_db()
    assert Ticket.objects.count() == 1
    assert ticket.status == TicketStatus.OPEN
    assert ticket.events.filter(kind="message_in").count() == 2
    reopened = ticket.events.filter(kind="status_change").order_by("id").last()
    assert reopened.metadata == {"from": "resolved", "to": "open"}
    assert reopened.text == "Status resolved → open: the customer wrote again."


def test_a_reply_to_a_closed_ticket_opens_a_new_one(teams, supervisor):
    deliver(message("email", external_id="<a1@mail.example.com>"))
    old = Ticket.objects.get()
    do_change_status(ticket=old, status=TicketStatus.CLOSED, actor=supervisor)

    deliver(
        message("email", text="One more thing", replies_to=("<a1@mail.example.com>",))
    )

    old.refresh_from_db()
    assert old.status == TicketStatus.CLOSED
    new = Ticket.objects.exclude(pk=old.pk).get()
    assert new.events.get(kind="message_in").text == "One more thing"


def test_an_automated_message_never_opens_a_ticket(teams):
    deliver(message("email", subject="Out of office", automated=True))
    deliver(message("chat", ("web", "bot-7"), text="Auto greeting", automated=True))

    assert not Ticket.objects.exists()
    stored = TimelineEvent.objects.values_list("kind", "ticket")
    assert list(stored) == [("system", None), ("system", None)]


def test_an_auto_reply_threads_onto_its_ticket_without_reopening_it(teams, supervisor):
    deliver(message("email", external_id="<a1@mail.example.com>"))
    ticket = Ticket.objects.get()
    do_resolve_ticket(ticket=ticket, actor=supervisor, resolution_note="Done.")

    deliver(
        message(
            "email",
            subject="Auto: Out of office",
            automated=True,
            replies_to=("<a1@mail.example.com>",),
        )
    )

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.events.get(subject="Auto: Out of office").kind == "system"
    assert ticket.events.filter(kind="status_change").count() == 1


def test_a_conversation_key_threads_messages_of_one_conversation(teams):
    deliver(message("email", conversation_key="thread-7", text="First"))
    deliver(message("email", conversation_key="thread-7", text="Second"))
    deliver(message("email", conversation_key="thread-8", text="Other"))

    keyed = {
        t.conversation_key: sorted(
            t.events.filter(kind="message_in").values_list("text", flat=True)
        )
        for t in Ticket.objects.all()
    }
    assert keyed == {"thread-7": ["First", "Second"], "thread-8": ["Other"]}
