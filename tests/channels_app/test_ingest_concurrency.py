"""Ingestion under real concurrency: threads, each on its own PostgreSQL connection."""

import threading

import pytest
from django.db import connection

from channels_app.ingest import process_inbound, submit_message
from channels_app.models import InboundRecord
from customers.models import Customer, Identity
from tests.helpers import deliver, message
from tickets.actions.tickets import do_resolve_ticket
from tickets.models import RouteChange, Ticket, TicketStatus, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20


def at_once(deliveries) -> None:
    """Submit and process every message in its own thread, all released together."""
    start = threading.Barrier(len(deliveries))
    errors = []

    def run(msg):
        try:
            start.wait(timeout=30)
            record, _ = submit_message(msg)
            process_inbound(record.pk)
        except Exception as exc:  # reported below, with the others
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(msg,)) for msg in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []


def test_one_message_delivered_twenty_times_at_once_is_stored_once(on_postgres, teams):
    same = message("whatsapp", ("whatsapp", "14155552671"), external_id="wamid.SAME")

    at_once([same] * THREADS)

    record = InboundRecord.objects.get()
    assert (record.status, record.attempts) == (InboundRecord.Status.PROCESSED, 1)
    assert TimelineEvent.objects.filter(kind="message_in").count() == 1
    assert record.event_ids == [TimelineEvent.objects.get(kind="message_in").pk]
    ticket = Ticket.objects.get()
    assert RouteChange.objects.get().ticket == ticket
    assert ticket.team == teams["tech"]


def test_twenty_first_messages_from_one_new_sender_make_one_customer(
    on_postgres, teams
):
    at_once(
        [
            message("whatsapp", ("whatsapp", "14155552671"), text=f"Message {n}")
            for n in range(THREADS)
        ]
    )

    # Each record went through once: none failed and was saved by a second attempt.
    assert set(InboundRecord.objects.values_list("status", "attempts")) == {
        ("processed", 1)
    }
    customer = Customer.objects.get()
    assert set(Identity.objects.values_list("customer", "kind", "value")) == {
        (customer.pk, "whatsapp", "+14155552671"),
        (customer.pk, "phone", "+14155552671"),
    }
    assert customer.timeline.filter(kind="message_in").count() == THREADS
    # Whichever message committed first opened the ticket; the rest continued it.
    ticket = Ticket.objects.get()
    assert ticket.events.filter(kind="message_in").count() == THREADS
    assert RouteChange.objects.count() == 1


def test_twenty_replies_at_once_reopen_a_resolved_ticket_once(
    on_postgres, teams, supervisor
):
    deliver(message("email", external_id="<a1@mail.example.com>"))
    ticket = Ticket.objects.get()
    do_resolve_ticket(ticket=ticket, actor=supervisor, resolution_note="Refunded.")

    at_once(
        [
            message("email", text=f"Reply {n}", replies_to=("<a1@mail.example.com>",))
            for n in range(THREADS)
        ]
    )

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.events.filter(kind="message_in").count() == THREADS + 1
    changes = ticket.events.filter(kind="status_change").order_by("id")
    assert [e.metadata for e in changes] == [
        {"from": "new", "to": "resolved"},
        {"from": "resolved", "to": "open"},
    ]
    latest = ticket.events.filter(kind="message_in").latest("occurred_at", "id")
    assert ticket.last_message_at == latest.occurred_at
