"""The queue's search through the tickets' stored documents: a ticket is found by
the words the actions wrote, right after they wrote them, on the queue page and
in the API's list; a ticket without the words is not."""

import re

import pytest
from rest_framework.test import APIClient

from supportdesk.api.tokens import do_issue_api_token
from tests.helpers import deliver, message
from tickets.actions.tickets import do_add_note, do_reply
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db


def opened(msg) -> Ticket:
    record = deliver(msg)
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


@pytest.fixture
def found(client, tech_agent):
    """found(words): the ids the queue page and the API list show, newest first,
    checked to be the same on both doors."""
    _, key = do_issue_api_token(user=tech_agent, name="test", scopes=["read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.force_login(tech_agent)

    def search(words: str) -> list[int]:
        page = client.get("/queue/", {"q": words, "status": "all"})
        assert page.status_code == 200
        html = page.content.decode()
        on_page = [int(i) for i in re.findall(r'id="queue-ticket-(\d+)"', html)]
        listed = api.get("/api/v1/tickets/", {"q": words, "status": "all"})
        assert listed.status_code == 200
        assert [row["id"] for row in listed.json()["results"]] == on_page
        return on_page

    return search


@pytest.fixture
def other(teams) -> Ticket:
    return opened(
        message(
            "email",
            ("email", "di@example.com"),
            subject="Opening hours",
            text="Are you open on Sunday?",
            sender_name="Di Okafor",
        )
    )


def test_a_new_ticket_is_found_by_its_subject_and_first_message(found, other):
    ticket = opened(
        message(
            "email",
            ("email", "ana@example.com"),
            subject="Refund for a double charge",
            text="The parcel never arrived.",
        )
    )

    assert found("refund") == [ticket.pk]
    assert found("parcel") == [ticket.pk]
    assert found("sunday") == [other.pk]
    assert found("zeppelin") == []


def test_a_customers_later_message_is_found_at_once(found, other):
    first = message("whatsapp", ("whatsapp", "14155552671"), text="Hello there")
    ticket = opened(first)
    assert found("invoice") == []

    deliver(
        message("whatsapp", ("whatsapp", "14155552671"), text="My invoice is wrong")
    )

    assert found("invoice") == [ticket.pk]
    assert found("hello invoice") == [ticket.pk]
    assert found("invoice sunday") == []


def test_an_agents_reply_and_note_are_found_at_once(found, other, tech_agent):
    ticket = opened(
        message(
            "email", ("email", "ana@example.com"), subject="Login", text="It fails."
        )
    )

    do_reply(ticket=ticket, author=tech_agent, text="Please clear the cookies.")
    assert found("cookies") == [ticket.pk]
    do_add_note(ticket=ticket, author=tech_agent, text="Escalate to the SSO team.")
    assert found("sso") == [ticket.pk]
    assert found("cookies -sunday") == [ticket.pk]


def test_a_customers_name_still_finds_their_tickets(found, other):
    assert found("okafor") == [other.pk]
