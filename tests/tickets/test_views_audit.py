from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import AgentFactory, RoutingRuleFactory
from tests.helpers import deliver, message
from tickets.actions.routing import do_reassign_ticket
from tickets.models import Agent, RouteChange, Ticket, TimelineEvent
from tickets.views_supervisor import audit

pytestmark = pytest.mark.django_db


def routed(msg) -> Ticket:
    record = deliver(msg)
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


@pytest.fixture
def history(teams, supervisor):
    """Two tickets routed by rule, then moved by two supervisors."""
    RoutingRuleFactory(name="Bills", team=teams["billing"], keywords=["bill"])
    lena = AgentFactory(username="lena", role=Agent.Role.SUPERVISOR)
    bill = routed(message("email", ("email", "a@example.com"), text="my bill"))
    broken = routed(message("email", ("email", "b@example.com"), text="it is broken"))
    do_reassign_ticket(
        ticket=bill, to_team=teams["sales"], actor=supervisor, reason="Upsell chance"
    )
    do_reassign_ticket(
        ticket=broken, to_team=teams["billing"], actor=lena, reason="Charged twice"
    )
    return {"bill": bill, "broken": broken, "lena": lena}


def rows(response) -> list[tuple[int, str | None, str, str]]:
    return [
        (
            c.ticket_id,
            c.from_team.slug if c.from_team else None,
            c.to_team.slug,
            c.reason,
        )
        for c in response.context["changes"]
    ]


def test_the_log_shows_who_moved_what_from_where_and_why(client, supervisor, history):
    client.force_login(supervisor)

    response = client.get("/supervisor/audit/")

    bill, broken = history["bill"].pk, history["broken"].pk
    assert rows(response) == [
        (broken, "tech", "billing", "Charged twice"),
        (bill, "billing", "sales", "Upsell chance"),
        (broken, None, "tech", "No rule matched: default team"),
        (bill, None, "billing", "Rule “Bills” matched"),
    ]
    page = response.content.decode()
    assert "Upsell chance" in page and "rule “Bills”" in page and "sam" in page


def test_the_log_filters_by_team_from_or_to(client, supervisor, history, teams):
    client.force_login(supervisor)

    response = client.get("/supervisor/audit/", {"team": teams["sales"].pk})
    assert rows(response) == [(history["bill"].pk, "billing", "sales", "Upsell chance")]

    response = client.get("/supervisor/audit/", {"team": teams["tech"].pk})
    assert [r[3] for r in rows(response)] == [
        "Charged twice",
        "No rule matched: default team",
    ]


def test_the_log_filters_by_actor(client, supervisor, history):
    client.force_login(supervisor)

    response = client.get("/supervisor/audit/", {"actor": history["lena"].pk})

    assert [r[3] for r in rows(response)] == ["Charged twice"]


def test_the_log_filters_by_time(client, supervisor, history):
    """Only the moves inside the range are listed."""
    old = RouteChange.objects.filter(reason="Upsell chance")
    old.update(created_at=timezone.now() - timedelta(days=3))
    client.force_login(supervisor)
    local = timezone.localtime(timezone.now() - timedelta(days=2))
    cut = local.strftime("%Y-%m-%dT%H:%M")

    recent = client.get("/supervisor/audit/", {"since": cut})
    older = client.get("/supervisor/audit/", {"until": cut})

    assert "Upsell chance" not in [r[3] for r in rows(recent)]
    assert len(rows(recent)) == 3
    assert [r[3] for r in rows(older)] == ["Upsell chance"]


def test_the_log_of_one_ticket(client, supervisor, history):
    client.force_login(supervisor)

    response = client.get("/supervisor/audit/", {"ticket": history["bill"].pk})

    assert [r[3] for r in rows(response)] == ["Upsell chance", "Rule “Bills” matched"]
    assert f"Route history of ticket #{history['bill'].pk}" in (
        response.content.decode()
    )


def test_the_log_is_keyset_paginated(client, supervisor, history, monkeypatch):
    """Pages follow each other without gaps or repeats, however many moves."""
    monkeypatch.setattr(audit, "AUDIT_PAGE_SIZE", 3)
    client.force_login(supervisor)

    first = client.get("/supervisor/audit/")
    cursor = first.context["next_cursor"]
    second = client.get("/supervisor/audit/", {"cursor": cursor})

    seen = [c.pk for c in first.context["changes"]] + [
        c.pk for c in second.context["changes"]
    ]
    assert seen == list(RouteChange.objects.values_list("pk", flat=True))
    assert second.context["next_cursor"] is None
    assert client.get("/supervisor/audit/", {"cursor": "nonsense"}).status_code == 404


def test_the_log_costs_the_same_queries_for_4_or_17_moves(
    client, supervisor, history, teams
):
    """Each row's ticket, teams, rule and actor come with the page, not per row."""
    client.force_login(supervisor)

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/supervisor/audit/")
        return len(rows(response)), len(captured)

    few, few_queries = queries()
    ticket, to_team = history["bill"], teams["billing"]
    for n in range(13):
        do_reassign_ticket(
            ticket=ticket, to_team=to_team, actor=supervisor, reason=f"Move {n}"
        )
        ticket.refresh_from_db()
        to_team = teams["sales"] if to_team == teams["billing"] else teams["billing"]
    many, many_queries = queries()

    assert (few, many) == (4, 17)
    assert few_queries == many_queries


def test_an_agent_cannot_read_the_audit(client, billing_agent, history):
    client.force_login(billing_agent)

    assert client.get("/supervisor/audit/").status_code == 403
