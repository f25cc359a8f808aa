import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import TestCase
from django.utils import timezone

from supportdesk import events
from tests.factories import AgentFactory, RoutingRuleFactory, TeamFactory
from tests.helpers import deliver, deliver_without_routing, message
from tickets.actions import routing as routing_actions
from tickets.actions.routing import (
    RoutingError,
    do_change_rule_team,
    do_reassign_ticket,
    do_route_ticket,
)
from tickets.actions.tickets import do_assign_ticket, do_resolve_ticket
from tickets.models import RouteChange, Ticket, TimelineEvent
from tickets.tasks import route_ticket

pytestmark = pytest.mark.django_db


def routed_ticket(msg) -> Ticket:
    record = deliver(msg)
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def route(ticket: Ticket) -> RouteChange | None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return do_route_ticket(ticket_id=ticket.pk)


def reassign(ticket: Ticket, to_team, actor, reason: str) -> RouteChange | None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return do_reassign_ticket(
            ticket=ticket, to_team=to_team, actor=actor, reason=reason
        )


# ---------------------------------------------------------------- route_ticket


def test_routing_writes_one_route_change_and_one_timeline_event(teams, published):
    rule = RoutingRuleFactory(
        name="Refunds", team=teams["billing"], keywords=["refund"]
    )
    ticket = deliver_without_routing(message("email", text="I want a refund"))

    change = route(ticket)

    ticket.refresh_from_db()
    assert (ticket.team, ticket.routed_by_rule) == (teams["billing"], rule)
    assert ticket.routed_at is not None
    assert RouteChange.objects.get() == change
    assert (change.from_team, change.to_team, change.rule, change.actor) == (
        None,
        teams["billing"],
        rule,
        None,
    )
    assert change.reason == "Rule “Refunds” matched"
    event = ticket.events.get(kind=TimelineEvent.Kind.ROUTE_CHANGE)
    assert event.customer_id == ticket.customer_id
    assert event.metadata["route_change_id"] == change.pk
    assert event.text.startswith("Routed to Billing.")
    routed = [g for g, e in published if e["type"] == events.TICKET_ROUTED]
    assert events.team_group(teams["billing"].pk) in routed
    # The routed event carries the timeline entry: nothing else is published.
    assert {e["type"] for g, e in published} == {events.TICKET_ROUTED}
    assert {e["event_id"] for g, e in published} == {event.pk}


def test_routing_twice_records_one_route_change(teams):
    ticket = deliver_without_routing(message("email"))

    first = route(ticket)
    second = route(ticket)

    assert first is not None
    assert second is None
    assert RouteChange.objects.filter(ticket=ticket).count() == 1
    assert ticket.events.filter(kind=TimelineEvent.Kind.ROUTE_CHANGE).count() == 1


def test_a_desk_without_teams_leaves_the_ticket_unrouted(db):
    ticket = deliver_without_routing(message("email"))

    assert route(ticket) is None

    ticket.refresh_from_db()
    assert (ticket.team, ticket.routed_at) == (None, None)
    assert not RouteChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_route_tasks_record_exactly_one_route_change():
    # Created with no team on the desk, so the route task ingestion runs does nothing.
    record = deliver(message("email", text="Refund please"))
    ticket = TimelineEvent.objects.get(pk=record.event_ids[0]).ticket
    assert ticket.routed_at is None
    billing = TeamFactory(name="Billing", slug="billing")
    TeamFactory(name="Technical support", slug="tech", is_default=True)
    RoutingRuleFactory(team=billing, keywords=["refund"])

    runs = 8
    barrier = threading.Barrier(runs)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(route_ticket(ticket.pk))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(results, key=str) == [billing.pk] + [None] * (runs - 1)
    assert RouteChange.objects.filter(ticket=ticket).count() == 1
    assert ticket.events.filter(kind=TimelineEvent.Kind.ROUTE_CHANGE).count() == 1
    ticket.refresh_from_db()
    assert ticket.team == billing


def test_a_ticket_cannot_be_routed_without_a_team(teams):
    unrouted = deliver_without_routing(message("email"))
    routed = routed_ticket(message("email"))

    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=unrouted.pk).update(routed_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=routed.pk).update(team=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=unrouted.pk).update(team=teams["sales"])


# ------------------------------------------------------------------ reassignment


def test_a_reassignment_records_who_moved_it_where_and_why(teams, supervisor):
    ticket = routed_ticket(message("email"))

    change = reassign(ticket, teams["billing"], supervisor, "  Asks about an invoice ")

    ticket.refresh_from_db()
    assert ticket.team == teams["billing"]
    assert ticket.routed_by_rule is None
    latest = RouteChange.objects.filter(ticket=ticket).first()
    assert latest == change
    assert (change.from_team, change.to_team, change.actor, change.reason) == (
        teams["tech"],
        teams["billing"],
        supervisor,
        "Asks about an invoice",
    )
    event = ticket.events.filter(kind=TimelineEvent.Kind.ROUTE_CHANGE).first()
    assert event.author == supervisor
    assert event.metadata["route_change_id"] == change.pk
    assert "Moved from Technical support to Billing" in event.text


def test_a_reassignment_needs_a_reason(teams, supervisor):
    ticket = routed_ticket(message("email"))

    for reason in ("", "   "):
        with pytest.raises(RoutingError):
            reassign(ticket, teams["billing"], supervisor, reason)

    ticket.refresh_from_db()
    assert ticket.team == teams["tech"]
    assert RouteChange.objects.filter(ticket=ticket).count() == 1


def test_the_move_and_its_route_change_commit_together(teams, supervisor, monkeypatch):
    ticket = routed_ticket(message("email"))

    def timeline_down(**kwargs):
        raise RuntimeError("timeline unavailable")

    monkeypatch.setattr(routing_actions, "do_append_system_event", timeline_down)
    with pytest.raises(RuntimeError):
        reassign(ticket, teams["billing"], supervisor, "Invoice question")

    ticket.refresh_from_db()
    assert ticket.team == teams["tech"]
    assert RouteChange.objects.filter(ticket=ticket).count() == 1


def test_a_reassignment_to_the_owning_team_changes_nothing(teams, supervisor):
    ticket = routed_ticket(message("email"))

    assert reassign(ticket, teams["tech"], supervisor, "Stays here") is None

    assert RouteChange.objects.filter(ticket=ticket).count() == 1


def test_a_reassignment_unassigns_an_agent_outside_the_new_team(
    teams, supervisor, tech_agent
):
    ticket = routed_ticket(message("email"))
    do_assign_ticket(ticket=ticket, assignee=tech_agent, actor=supervisor)

    reassign(ticket, teams["billing"], supervisor, "Invoice question")

    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_a_reassignment_keeps_an_assignee_who_is_in_the_new_team(teams, supervisor):
    both = AgentFactory(username="bo", teams=[teams["tech"], teams["billing"]])
    ticket = routed_ticket(message("email"))
    do_assign_ticket(ticket=ticket, assignee=both, actor=supervisor)

    reassign(ticket, teams["billing"], supervisor, "Invoice question")

    ticket.refresh_from_db()
    assert ticket.assignee == both


def test_a_reassignment_is_published_to_both_teams(teams, supervisor, published):
    ticket = routed_ticket(message("email"))
    published.clear()

    change = reassign(ticket, teams["billing"], supervisor, "Invoice question")

    moved = {g: e for g, e in published if e["type"] == events.TICKET_REASSIGNED}
    assert events.team_group(teams["tech"].pk) in moved
    assert events.team_group(teams["billing"].pk) in moved
    assert events.ticket_group(ticket.pk) in moved
    entry = ticket.events.filter(kind=TimelineEvent.Kind.ROUTE_CHANGE).latest("id")
    assert moved[events.team_group(teams["tech"].pk)] == {
        "type": events.TICKET_REASSIGNED,
        "ticket_id": ticket.pk,
        "from_team_id": teams["tech"].pk,
        "to_team_id": teams["billing"].pk,
        "route_change_id": change.pk,
        "event_id": entry.pk,
        "text": "Moved from Technical support to Billing. Invoice question",
        "occurred_at": entry.occurred_at.isoformat(),
    }
    # The move and its timeline entry are one event, not two.
    assert [e["type"] for g, e in published if g == events.ticket_group(ticket.pk)] == [
        events.TICKET_REASSIGNED
    ]


def test_nothing_is_published_when_the_reassignment_rolls_back(
    teams, supervisor, published
):
    ticket = routed_ticket(message("email"))
    published.clear()

    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        do_reassign_ticket(
            ticket=ticket, to_team=teams["billing"], actor=supervisor, reason="Oops"
        )
        transaction.set_rollback(True)

    assert published == []
    ticket.refresh_from_db()
    assert ticket.team == teams["tech"]


# ------------------------------------------------------------ rule team changes


def test_changing_a_rules_team_moves_only_the_open_tickets_it_placed(teams, supervisor):
    rule = RoutingRuleFactory(
        name="Refunds", team=teams["billing"], keywords=["refund"]
    )
    placed = routed_ticket(message("email", ("email", "a@example.com"), text="refund"))
    moved_by_hand = routed_ticket(
        message("email", ("email", "b@example.com"), text="refund")
    )
    resolved = routed_ticket(
        message("email", ("email", "c@example.com"), text="refund")
    )
    by_default = routed_ticket(message("email", ("email", "d@example.com"), text="hi"))
    reassign(moved_by_hand, teams["tech"], supervisor, "Not about money")
    do_resolve_ticket(ticket=resolved, actor=supervisor, resolution_note="Refunded")
    before = RouteChange.objects.count()

    with TestCase.captureOnCommitCallbacks(execute=True):
        changes = do_change_rule_team(
            rule=rule, team=teams["sales"], actor=supervisor, reroute_open=True
        )

    teams_now = dict(Ticket.objects.values_list("pk", "team__slug"))
    assert teams_now == {
        placed.pk: "sales",
        moved_by_hand.pk: "tech",
        resolved.pk: "billing",
        by_default.pk: "tech",
    }
    assert [c.ticket_id for c in changes] == [placed.pk]
    assert RouteChange.objects.count() == before + 1
    change = RouteChange.objects.filter(ticket=placed).first()
    assert (change.from_team, change.to_team, change.rule, change.actor) == (
        teams["billing"],
        teams["sales"],
        rule,
        supervisor,
    )
    assert change.reason == "Rule “Refunds” now routes to Sales"
    rule.refresh_from_db()
    assert rule.team == teams["sales"]


def test_changing_a_rules_team_without_reroute_moves_nothing(teams, supervisor):
    rule = RoutingRuleFactory(team=teams["billing"], keywords=["refund"])
    placed = routed_ticket(message("email", text="refund"))
    before = RouteChange.objects.count()

    changes = do_change_rule_team(rule=rule, team=teams["sales"], actor=supervisor)

    assert changes == []
    assert RouteChange.objects.count() == before
    placed.refresh_from_db()
    assert placed.team == teams["billing"]
    later = routed_ticket(message("email", ("email", "bo@example.com"), text="refund"))
    assert later.team == teams["sales"]
