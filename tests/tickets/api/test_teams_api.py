"""/api/v1/teams/ and /api/v1/agents/: the teams page's load for supervisors,
and the agents each user may hand a ticket to."""

import pytest

from tests.factories import AgentFactory
from tickets.actions.tickets import do_assign_ticket
from tickets.models import Agent

pytestmark = pytest.mark.django_db

TEAMS = "/api/v1/teams/"
AGENTS = "/api/v1/agents/"


def test_a_supervisor_reads_each_teams_load_and_members(
    api_client, supervisor, tech_agent, teams, tech_ticket, billing_ticket
):
    do_assign_ticket(ticket=tech_ticket, assignee=tech_agent, actor=tech_agent)
    AgentFactory(username="tess", teams=[teams["tech"]])

    response = api_client(supervisor, "read").get(TEAMS)

    assert response.status_code == 200
    by_slug = {team["slug"]: team for team in response.json()}
    assert list(by_slug) == ["billing", "sales", "tech"]
    tech = by_slug["tech"]
    assert (tech["open_count"], tech["unassigned_count"], tech["is_default"]) == (
        1,
        0,
        True,
    )
    assert tech["oldest_waiting_at"] is not None
    assert [(a["username"], a["open_tickets"]) for a in tech["agents"]] == [
        ("tess", 0),
        ("tom", 1),
    ]
    billing = by_slug["billing"]
    assert (billing["open_count"], billing["unassigned_count"]) == (1, 1)
    one = api_client(supervisor, "read").get(f"{TEAMS}{teams['tech'].pk}/")
    assert one.json() == tech


def test_agents_are_refused_the_teams_load(api_client, tech_agent, teams):
    client = api_client(tech_agent, "read")

    assert client.get(TEAMS).status_code == 403
    assert client.get(f"{TEAMS}{teams['tech'].pk}/").status_code == 403


def test_an_unknown_team_is_not_found(api_client, supervisor, teams):
    response = api_client(supervisor, "read").get(f"{TEAMS}999999/")

    assert response.status_code == 404


def test_an_agent_sees_themselves_and_their_teammates_only(
    api_client, tech_agent, billing_agent, supervisor, teams
):
    tess = AgentFactory(username="tess", first_name="Tess", teams=[teams["tech"]])
    AgentFactory(username="gone", teams=[teams["tech"]], is_active=False)
    client = api_client(tech_agent, "read")

    listed = client.get(AGENTS)

    assert listed.status_code == 200
    assert {row["username"] for row in listed.json()["results"]} == {"tom", "tess"}
    row = client.get(f"{AGENTS}{tess.pk}/").json()
    assert row == {
        "id": tess.pk,
        "username": "tess",
        "name": tess.get_full_name(),
        "role": "agent",
        "is_active": True,
        "teams": [
            {"id": teams["tech"].pk, "name": "Technical support", "slug": "tech"}
        ],
    }
    assert client.get(f"{AGENTS}{billing_agent.pk}/").status_code == 404
    assert client.get(f"{AGENTS}{supervisor.pk}/").status_code == 404


def test_a_supervisor_sees_every_agent_and_filters_by_team(
    api_client, supervisor, tech_agent, billing_agent, teams
):
    client = api_client(supervisor, "read")

    everyone = client.get(AGENTS).json()["results"]
    billing = client.get(AGENTS, {"team": teams["billing"].pk}).json()["results"]

    assert {row["username"] for row in everyone} == {"sam", "tom", "bea"}
    assert [row["username"] for row in billing] == ["bea"]
    assert {row["role"] for row in everyone} == {
        Agent.Role.SUPERVISOR,
        Agent.Role.AGENT,
    }


def test_the_agents_list_refuses_a_bad_filter(api_client, supervisor):
    response = api_client(supervisor, "read").get(AGENTS, {"team": "billing"})

    assert response.status_code == 400
    assert "team" in response.json()["error"]["fields"]
