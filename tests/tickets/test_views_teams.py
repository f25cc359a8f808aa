from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory, RoutingRuleFactory
from tests.helpers import deliver, message
from tickets.actions.tickets import do_assign_ticket, do_resolve_ticket
from tickets.models import RouteChange, Ticket, TimelineEvent

pytestmark = pytest.mark.django_db


def routed(msg) -> Ticket:
    record = deliver(msg)
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def billing_tickets(count: int, teams) -> list[Ticket]:
    RoutingRuleFactory(name="Bills", team=teams["billing"], keywords=["bill"])
    return [
        routed(message("email", ("email", f"c{n}@example.com"), text=f"bill {n}"))
        for n in range(count)
    ]


def load_of(response, slug: str):
    return next(load for load in response.context["loads"] if load.team.slug == slug)


def test_team_load_counts_open_unassigned_and_agents(client, supervisor, teams):
    bea = AgentFactory(username="bea", teams=[teams["billing"]])
    AgentFactory(username="bob", teams=[teams["billing"], teams["sales"]])
    first, second, _third, done = billing_tickets(4, teams)
    do_assign_ticket(ticket=first, assignee=bea, actor=supervisor)
    do_assign_ticket(ticket=second, assignee=bea, actor=supervisor)
    do_resolve_ticket(ticket=done, actor=supervisor, resolution_note="Paid.")
    routed(message("email", ("email", "t@example.com"), text="it is broken"))
    client.force_login(supervisor)

    response = client.get("/supervisor/teams/")

    billing = load_of(response, "billing")
    assert (billing.open_count, billing.unassigned_count) == (3, 1)
    assert billing.oldest_waiting_at == first.created_at
    assert [(agent.username, load) for agent, load in billing.agents] == [
        ("bob", 0),
        ("bea", 2),
    ]
    tech = load_of(response, "tech")
    assert (tech.open_count, tech.unassigned_count, tech.agents) == (1, 1, [])
    sales = load_of(response, "sales")
    assert (sales.open_count, sales.oldest_waiting_at) == (0, None)
    assert [agent.username for agent, _ in sales.agents] == ["bob"]
    page = response.content.decode()
    assert 'data-load="2"' in page and "Billing" in page


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_team_pages_cost_the_same_queries_for_3_or_30_tickets(
    client, supervisor, teams
):
    """The load and queue pages aggregate in the database, not per row."""
    agents = [
        AgentFactory(username=f"agent{n}", teams=[teams["billing"]]) for n in range(3)
    ]
    tickets = billing_tickets(3, teams)
    for ticket, agent in zip(tickets, agents, strict=True):
        do_assign_ticket(ticket=ticket, assignee=agent, actor=supervisor)
    client.force_login(supervisor)
    billing = f"/supervisor/teams/{teams['billing'].pk}/"
    few = (_queries(client, "/supervisor/teams/"), _queries(client, billing))

    for n in range(27):
        ticket = routed(message("email", ("email", f"m{n}@example.com"), text="bill"))
        do_assign_ticket(ticket=ticket, assignee=agents[n % 3], actor=supervisor)
    AgentFactory(username="another", teams=[teams["sales"]])

    many = (_queries(client, "/supervisor/teams/"), _queries(client, billing))
    assert many == few
    assert Ticket.objects.filter(team=teams["billing"]).count() == 30


def test_a_team_page_lists_only_that_teams_open_tickets(client, supervisor, teams):
    open_one, done = billing_tickets(2, teams)
    do_resolve_ticket(ticket=done, actor=supervisor, resolution_note="Paid.")
    elsewhere = routed(message("email", ("email", "t@example.com"), text="broken"))
    client.force_login(supervisor)

    response = client.get(f"/supervisor/teams/{teams['billing'].pk}/")

    assert [t.pk for t in response.context["tickets"]] == [open_one.pk]
    assert elsewhere.team == teams["tech"]


def test_the_pages_refresh_live_from_desk_events(client, supervisor, teams):
    """The pages listen to desk events and fetch fresh counts through htmx."""
    client.force_login(supervisor)

    page = client.get("/supervisor/teams/").content.decode()
    fragment = client.get(
        "/supervisor/teams/", headers={"HX-Request": "true"}
    ).content.decode()

    assert "supervisor/live_refresh.js" in page and 'hx-trigger="desk:refresh"' in page
    assert fragment.lstrip().startswith('<div id="team-loads"')
    # The page's script, a static file (the pages run no inline script).
    script = Path(finders.find("supervisor/live_refresh.js")).read_text()
    assert '"desk:event"' in script and '"desk:refresh"' in script


def test_bulk_reassign_writes_one_route_change_per_ticket(client, supervisor, teams):
    """Three selected tickets move with the reason, each through the action."""
    tickets = billing_tickets(4, teams)
    chosen = tickets[:3]
    before = RouteChange.objects.count()
    client.force_login(supervisor)

    response = client.post(
        f"/supervisor/teams/{teams['billing'].pk}/reassign/",
        {
            "ticket": [t.pk for t in chosen],
            "target": f"team:{teams['sales'].pk}",
            "reason": "Sales handles these accounts",
        },
    )

    assert response.status_code == 302
    changes = list(RouteChange.objects.order_by("id")[before:])
    assert sorted(c.ticket_id for c in changes) == sorted(t.pk for t in chosen)
    assert {(c.from_team, c.to_team, c.actor, c.reason) for c in changes} == {
        (teams["billing"], teams["sales"], supervisor, "Sales handles these accounts")
    }
    # Each move also wrote its timeline entry: the action ran once per ticket.
    assert (
        TimelineEvent.objects.filter(
            kind=TimelineEvent.Kind.ROUTE_CHANGE,
            metadata__route_change_id__in=[c.pk for c in changes],
        ).count()
        == 3
    )
    assert Ticket.objects.get(pk=tickets[3].pk).team == teams["billing"]


def test_bulk_reassign_without_a_reason_is_refused(client, supervisor, teams):
    tickets = billing_tickets(3, teams)
    before = RouteChange.objects.count()
    client.force_login(supervisor)

    response = client.post(
        f"/supervisor/teams/{teams['billing'].pk}/reassign/",
        {
            "ticket": [t.pk for t in tickets],
            "target": f"team:{teams['sales'].pk}",
            "reason": "  ",
        },
    )

    assert response.status_code == 400
    assert "needs a reason" in response.content.decode()
    assert RouteChange.objects.count() == before
    assert set(Ticket.objects.values_list("team__slug", flat=True)) == {"billing"}


def test_handing_a_ticket_to_a_teammate_assigns_it(client, supervisor, teams):
    """An agent of the owning team takes it: no move, so no reason is needed."""
    bea = AgentFactory(username="bea", teams=[teams["billing"]])
    (ticket,) = billing_tickets(1, teams)
    before = RouteChange.objects.count()
    client.force_login(supervisor)

    client.post(
        f"/supervisor/teams/{teams['billing'].pk}/reassign/",
        {"ticket": [ticket.pk], "target": f"agent:{teams['billing'].pk}:{bea.pk}"},
    )

    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (teams["billing"], bea)
    assert RouteChange.objects.count() == before


def test_handing_a_ticket_to_an_agent_of_another_team(client, supervisor, teams):
    """The ticket moves to that agent's team, recorded, and is theirs."""
    sara = AgentFactory(username="sara", teams=[teams["sales"]])
    (ticket,) = billing_tickets(1, teams)
    client.force_login(supervisor)

    client.post(
        f"/supervisor/teams/{teams['billing'].pk}/reassign/",
        {
            "ticket": [ticket.pk],
            "target": f"agent:{teams['sales'].pk}:{sara.pk}",
            "reason": "Sara knows this customer",
        },
    )

    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (teams["sales"], sara)
    change = RouteChange.objects.latest("id")
    assert (change.ticket_id, change.to_team, change.reason) == (
        ticket.pk,
        teams["sales"],
        "Sara knows this customer",
    )


def test_an_agent_cannot_reassign(client, billing_agent, teams):
    (ticket,) = billing_tickets(1, teams)
    client.force_login(billing_agent)

    response = client.post(
        f"/supervisor/teams/{teams['billing'].pk}/reassign/",
        {"ticket": [ticket.pk], "target": f"team:{teams['sales'].pk}", "reason": "x"},
    )

    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.team == teams["billing"]
