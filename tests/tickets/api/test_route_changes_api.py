"""/api/v1/route-changes/: the audit of every change of owner, as supervisors
read it, and the part of it an agent may see."""

import pytest

from tickets.actions.routing import do_reassign_ticket
from tickets.models import RouteChange

pytestmark = pytest.mark.django_db

CHANGES = "/api/v1/route-changes/"


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def moved(tech_ticket, supervisor, teams) -> RouteChange:
    """A supervisor hands Ana's login ticket from Technical support to Sales."""
    return do_reassign_ticket(
        ticket=tech_ticket, to_team=teams["sales"], actor=supervisor, reason="Upsell"
    )


def test_a_supervisor_reads_every_change_newest_first(
    api_client, supervisor, tech_ticket, billing_ticket, moved, teams
):
    response = api_client(supervisor, "read").get(CHANGES)

    assert response.status_code == 200
    routed_tech, routed_billing = (
        RouteChange.objects.get(ticket=tech_ticket, actor__isnull=True),
        RouteChange.objects.get(ticket=billing_ticket),
    )
    assert ids(response) == [moved.pk, routed_billing.pk, routed_tech.pk]
    first = response.json()["results"][0]
    assert first["ticket"] == tech_ticket.pk
    assert (first["from_team"]["slug"], first["to_team"]["slug"]) == ("tech", "sales")
    assert first["actor"]["username"] == "sam"
    assert first["reason"] == "Upsell"
    assert response.json()["results"][1]["rule"]["name"] == "Invoices"


def test_an_agent_reads_only_the_changes_of_tickets_they_may_see(
    api_client, billing_agent, tech_agent, tech_ticket, billing_ticket, moved
):
    """Ana's ticket left Technical support: its changes left the tech agent's
    view with it, and Billing's ticket was never in it."""
    billing_change = RouteChange.objects.get(ticket=billing_ticket)
    as_tech = api_client(tech_agent, "read")

    assert ids(as_tech.get(CHANGES)) == []
    assert as_tech.get(f"{CHANGES}{moved.pk}/").status_code == 404
    assert as_tech.get(f"{CHANGES}{billing_change.pk}/").status_code == 404
    as_billing = api_client(billing_agent, "read")
    assert ids(as_billing.get(CHANGES)) == [billing_change.pk]
    assert as_billing.get(f"{CHANGES}{billing_change.pk}/").status_code == 200


def test_changes_filter_by_ticket_team_and_actor(
    api_client, supervisor, tech_ticket, billing_ticket, moved, teams
):
    client = api_client(supervisor, "read")

    by_ticket = client.get(CHANGES, {"ticket": billing_ticket.pk})
    by_team = client.get(CHANGES, {"team": teams["sales"].pk})
    by_actor = client.get(CHANGES, {"actor": supervisor.pk})

    assert ids(by_ticket) == [RouteChange.objects.get(ticket=billing_ticket).pk]
    assert ids(by_team) == [moved.pk]
    assert ids(by_actor) == [moved.pk]


def test_the_pages_hold_every_change_once(
    api_client, supervisor, tech_ticket, billing_ticket, moved
):
    client = api_client(supervisor, "read")
    seen, params = [], {"limit": 1}
    while True:
        page = client.get(CHANGES, params).json()
        seen += [row["id"] for row in page["results"]]
        if page["next"] is None:
            break
        params = {"limit": 1, "cursor": page["next"]}

    assert seen == list(
        RouteChange.objects.order_by("-created_at", "-id").values_list("id", flat=True)
    )
    assert len(seen) == 3
    bad = client.get(CHANGES, {"cursor": "nonsense"})
    assert bad.status_code == 404
