"""A customer writing again reopens their ticket through the same status change an
agent makes: the timeline, open pages and subscribed webhooks all hear of it."""

import pytest

from tests.channels_app.meta_support import (
    delivered,
    first_message,
    whatsapp_example,
)
from tests.channels_app.meta_support import (
    whatsapp_inbox as whatsapp_inbox,
)
from tests.channels_app.outbound_webhooks.webhook_support import (  # noqa: F401  (fixtures, used by name)
    endpoint_fixture,
    fresh_subscriptions_fixture,
    loopback_allowed_fixture,
    receiver_fixture,
)
from tests.helpers import deliver, message
from tickets.actions.tickets import do_change_status, do_resolve_ticket
from tickets.models import Ticket, TicketStatus, TimelineEvent

pytestmark = pytest.mark.django_db


def updates_of(published, ticket: Ticket) -> list[dict]:
    return [
        event
        for group, event in published
        if event["type"] == "ticket.updated"
        and event["ticket_id"] == ticket.pk
        and group == f"ticket.{ticket.pk}"
    ]


def webhook_updates(receiver) -> list[dict]:
    return [
        request.json()["data"]
        for request in receiver.requests
        if request.headers["x-desk-event"] == "ticket.updated"
    ]


def assert_reopened(ticket: Ticket, published, receiver) -> None:
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert updates_of(published, ticket) == [
        {"type": "ticket.updated", "ticket_id": ticket.pk, "status": "open"}
    ]
    [update] = webhook_updates(receiver)
    assert update["changes"] == {"status": "open"}
    assert update["ticket"]["id"] == ticket.pk
    assert update["ticket"]["status"] == "open"
    note = ticket.events.filter(kind="status_change").latest("id")
    assert note.text == "Status resolved → open: the customer wrote again."
    assert note.author is None


def test_an_email_answering_a_resolved_ticket_reopens_it_live_and_by_webhook(
    endpoint, receiver, teams, tech_agent, published
):
    deliver(message("email", external_id="<first@example.com>", text="Refund?"))
    ticket = Ticket.objects.get()
    do_resolve_ticket(ticket=ticket, actor=tech_agent, resolution_note="Refunded.")
    published.clear()
    receiver.requests.clear()

    deliver(
        message(
            "email",
            external_id="<second@example.com>",
            replies_to=("<first@example.com>",),
            text="It has not arrived.",
        )
    )

    assert Ticket.objects.count() == 1
    assert_reopened(ticket, published, receiver)


def test_a_whatsapp_reply_to_a_resolved_ticket_reopens_it_live_and_by_webhook(
    client,
    whatsapp_inbox,
    corpus_dir,
    endpoint,
    receiver,
    teams,
    tech_agent,
    published,
):
    delivered(client, "whatsapp", whatsapp_example(corpus_dir, "message", "text"))
    ticket = Ticket.objects.get()
    do_resolve_ticket(ticket=ticket, actor=tech_agent, resolution_note="Sorted.")
    published.clear()
    receiver.requests.clear()
    payload = whatsapp_example(corpus_dir, "message", "reply")
    first_message(payload)["id"] = "wamid.again"
    first_message(payload)["context"]["id"] = "wamid.xyzxyz"

    delivered(client, "whatsapp", payload)

    assert Ticket.objects.count() == 1
    assert_reopened(ticket, published, receiver)


def test_a_pending_ticket_is_open_again_when_the_customer_writes(
    teams, tech_agent, published
):
    deliver(message("sms", ("sms", "+14155552671"), text="Where is my parcel?"))
    ticket = Ticket.objects.get()
    do_change_status(ticket=ticket, status=TicketStatus.PENDING, actor=tech_agent)
    published.clear()

    deliver(message("sms", ("sms", "+14155552671"), text="Any news?"))

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert updates_of(published, ticket) == [
        {"type": "ticket.updated", "ticket_id": ticket.pk, "status": "open"}
    ]


def test_a_message_on_an_open_ticket_changes_no_status(teams, published):
    deliver(message("sms", ("sms", "+14155552671"), text="Hello"))
    ticket = Ticket.objects.get()
    published.clear()

    deliver(message("sms", ("sms", "+14155552671"), text="Hello again"))

    assert updates_of(published, ticket) == []
    assert not TimelineEvent.objects.filter(kind="status_change").exists()
