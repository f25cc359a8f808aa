"""GET /api/v1/tickets/, one ticket and its timeline: what an agent may see, as
the queue and the ticket page show it."""

import pytest

from tests.helpers import deliver, message
from tests.tickets.api.conftest import opened
from tickets.actions.ratings import do_rate_ticket
from tickets.actions.tickets import (
    do_assign_ticket,
    do_change_priority,
    do_resolve_ticket,
)
from tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def test_the_list_holds_the_agents_teams_tickets_and_a_supervisor_sees_all(
    api_client, tech_agent, supervisor, tech_ticket, billing_ticket
):
    response = api_client(tech_agent, "read").get(TICKETS)

    assert response.status_code == 200
    assert ids(response) == [tech_ticket.pk]
    [row] = response.json()["results"]
    assert row["subject"] == "Login fails"
    assert row["customer"] == {"id": tech_ticket.customer_id, "name": "Ana Silva"}
    assert row["team"]["slug"] == "tech"
    assert row["assignee"] is None
    assert row["snippet"] == "I cannot log in since this morning."
    assert response.json()["next"] is None
    everything = api_client(supervisor, "read").get(TICKETS)
    assert ids(everything) == [billing_ticket.pk, tech_ticket.pk]


def test_the_list_filters_like_the_queue(
    api_client, tech_agent, teams, tech_ticket, supervisor
):
    """Status (open ones by default), priority, assignee, channel, team and
    words anywhere in the conversation."""
    chat = opened(
        message(
            "whatsapp",
            ("whatsapp", "14155550000"),
            sender_name="Cy",
            text="The parcel never came",
        )
    )
    done = opened(message("email", ("email", "dee@example.com"), text="Old issue"))
    do_resolve_ticket(ticket=done, actor=tech_agent, resolution_note="Answered.")
    do_change_priority(ticket=chat, priority="urgent", actor=tech_agent)
    do_assign_ticket(ticket=tech_ticket, assignee=tech_agent, actor=tech_agent)
    client = api_client(tech_agent, "read")

    def listed(**query) -> list[int]:
        response = client.get(TICKETS, query)
        assert response.status_code == 200, response.json()
        return ids(response)

    assert listed() == [chat.pk, tech_ticket.pk]
    assert listed(status="resolved") == [done.pk]
    assert listed(status="all") == [done.pk, chat.pk, tech_ticket.pk]
    assert listed(priority="urgent") == [chat.pk]
    assert listed(assignee="me") == [tech_ticket.pk]
    assert listed(assignee=str(tech_agent.pk)) == [tech_ticket.pk]
    assert listed(assignee="none") == [chat.pk]
    assert listed(channel="whatsapp") == [chat.pk]
    assert listed(team=str(teams["tech"].pk)) == [chat.pk, tech_ticket.pk]
    assert listed(team=str(teams["billing"].pk)) == []
    assert listed(q="parcel") == [chat.pk]
    assert listed(q="Ana") == [tech_ticket.pk]


def test_the_list_pages_by_its_cursor(api_client, tech_agent, teams):
    opened_ids = [
        opened(message("email", ("email", f"c{n}@example.com"), text=f"Help {n}")).pk
        for n in range(3)
    ]
    client = api_client(tech_agent, "read")

    first = client.get(TICKETS, {"limit": 2}).json()
    second = client.get(TICKETS, {"limit": 2, "cursor": first["next"]}).json()

    assert [row["id"] for row in first["results"]] == opened_ids[:0:-1]
    assert [row["id"] for row in second["results"]] == [opened_ids[0]]
    assert second["next"] is None


def test_a_filter_the_queue_does_not_know_is_a_400_naming_it(api_client, tech_agent):
    response = api_client(tech_agent, "read").get(
        TICKETS, {"status": "sleeping", "limit": 0, "team": "", "assignee": "bob"}
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"status", "limit", "team", "assignee"}


def test_the_detail_shows_customer_owner_resolution_and_rating(
    api_client, tech_agent, tech_ticket
):
    do_assign_ticket(ticket=tech_ticket, assignee=tech_agent, actor=tech_agent)
    do_resolve_ticket(
        ticket=tech_ticket, actor=tech_agent, resolution_note="Reset the password."
    )
    do_rate_ticket(ticket_id=tech_ticket.pk, score=4, comment="Quick!", channel="email")
    newest = TimelineEvent.objects.filter(customer=tech_ticket.customer).latest("id")

    response = api_client(tech_agent, "read").get(f"{TICKETS}{tech_ticket.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["priority"], body["channel"]) == (
        tech_ticket.pk,
        "resolved",
        "normal",
        "email",
    )
    assert body["customer"]["name"] == "Ana Silva"
    assert {(i["kind"], i["value"]) for i in body["customer"]["identities"]} >= {
        ("email", "ana@example.com"),
        ("whatsapp", "+14155552671"),
    }
    assert body["team"]["name"] == "Technical support"
    assert body["assignee"]["id"] == tech_agent.pk
    assert body["resolution_note"] == "Reset the password."
    assert body["rating"]["score"] == 4 and body["rating"]["comment"] == "Quick!"
    assert body["latest_event_id"] == newest.pk
    assert body["resolved_at"] and body["created_at"] and body["routed_at"]


def test_an_unrated_ticket_has_no_rating(api_client, tech_agent, tech_ticket):
    body = api_client(tech_agent, "read").get(f"{TICKETS}{tech_ticket.pk}/").json()

    assert body["rating"] is None and body["resolution_note"] == ""


def test_the_timeline_is_the_customers_across_channels_by_cursor(
    api_client, tech_agent, tech_ticket
):
    """As beside the ticket page: every channel and ticket of Ana, newest first."""
    deliver(message("whatsapp", ("whatsapp", "14155552671"), text="Also on WhatsApp"))
    client = api_client(tech_agent, "read")
    url = f"{TICKETS}{tech_ticket.pk}/timeline/"

    pages, cursor = [], None
    while True:
        page = client.get(url, {"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        pages.append(page.json()["results"])
        cursor = page.json()["next"]
        if cursor is None:
            break

    events = [event for page in pages for event in page]
    assert all(len(page) <= 2 for page in pages) and len(pages) > 1
    stored = TimelineEvent.objects.filter(customer=tech_ticket.customer)
    assert [e["id"] for e in events] == list(
        stored.order_by("-occurred_at", "-id").values_list("id", flat=True)
    )
    messages = [e for e in events if e["kind"] == "message_in"]
    assert [(e["channel"], e["text"]) for e in messages] == [
        ("whatsapp", "Also on WhatsApp"),
        ("email", "I cannot log in since this morning."),
    ]
    assert messages[1]["ticket"] == tech_ticket.pk
    assert messages[1]["ticket"] != messages[0]["ticket"]
    assert messages[1]["direction"] == "in"
    assert client.get(url, {"cursor": "nonsense"}).status_code == 404


def test_the_list_costs_the_same_queries_for_2_or_20_tickets(
    api_client, tech_agent, teams, django_assert_max_num_queries
):
    client = api_client(tech_agent, "read")
    for n in range(2):
        opened(message("email", ("email", f"a{n}@example.com"), text="Hi"))
    with django_assert_max_num_queries(6) as few:
        client.get(TICKETS)
    for n in range(18):
        opened(message("email", ("email", f"b{n}@example.com"), text="Hi"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(ids(client.get(TICKETS))) == 20
