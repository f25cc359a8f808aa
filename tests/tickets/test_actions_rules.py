import pytest

from tests.factories import AgentFactory, RoutingRuleFactory
from tests.helpers import deliver, message
from tickets.actions.handover import do_hand_over_ticket
from tickets.actions.routing import RoutingError
from tickets.actions.rules import (
    RuleError,
    do_create_rule,
    do_move_rule,
    do_reorder_rules,
    do_set_rule_enabled,
    do_update_rule,
)
from tickets.actions.tickets import TicketActionError
from tickets.models import RouteChange, RoutingRule, TimelineEvent

pytestmark = pytest.mark.django_db


def order() -> list[str]:
    return list(RoutingRule.objects.order_by("position").values_list("name", flat=True))


def test_conditions_are_trimmed_lowered_and_deduplicated(teams):
    rule = do_create_rule(
        name="  Refunds ",
        team=teams["billing"],
        channels=["Email", "email"],
        keywords=[" Refund", "refund", ""],
        segments=["VIP"],
        languages=["DE"],
    )

    assert (rule.name, rule.channels, rule.keywords, rule.segments, rule.languages) == (
        "Refunds",
        ["email"],
        ["refund"],
        ["vip"],
        ["de"],
    )


@pytest.mark.parametrize("channel", ["fax", "internal"])
def test_a_rule_on_an_unknown_channel_is_refused(teams, channel):
    with pytest.raises(RuleError):
        do_create_rule(name="X", team=teams["billing"], channels=[channel])
    assert not RoutingRule.objects.exists()


def test_an_update_keeps_team_place_and_switch(teams):
    rule = RoutingRuleFactory(
        name="A", team=teams["billing"], position=4, enabled=False
    )

    do_update_rule(
        rule=rule, name="B", channels=[], keywords=["x"], segments=[], languages=[]
    )

    rule.refresh_from_db()
    assert (rule.name, rule.keywords, rule.team, rule.position, rule.enabled) == (
        "B",
        ["x"],
        teams["billing"],
        4,
        False,
    )


def test_moves_renumber_every_rule(teams):
    a, b, c = (
        RoutingRuleFactory(name=n, team=teams["tech"], position=p)
        for n, p in (("A", 5), ("B", 9), ("C", 12))
    )

    do_move_rule(rule=c, offset=-1)
    assert order() == ["A", "C", "B"]
    do_move_rule(rule=a, offset=1)
    assert order() == ["C", "A", "B"]
    do_move_rule(rule=b, offset=1)
    assert order() == ["C", "A", "B"]
    assert list(RoutingRule.objects.values_list("position", flat=True)) == [0, 1, 2]


def test_a_reorder_must_name_every_rule_once(teams):
    a = RoutingRuleFactory(name="A", team=teams["tech"])
    b = RoutingRuleFactory(name="B", team=teams["tech"])

    with pytest.raises(RuleError):
        do_reorder_rules(rule_ids=[a.pk, a.pk])
    with pytest.raises(RuleError):
        do_reorder_rules(rule_ids=[b.pk])
    assert order() == ["A", "B"]


def test_switching_a_rule_off_twice_is_harmless(teams):
    rule = RoutingRuleFactory(name="A", team=teams["tech"])

    do_set_rule_enabled(rule=rule, enabled=False)
    do_set_rule_enabled(rule=rule, enabled=False)

    rule.refresh_from_db()
    assert not rule.enabled


def test_a_hand_over_to_an_agent_outside_the_team_is_refused(teams, supervisor):
    record = deliver(message("email", text="help"))
    ticket = TimelineEvent.objects.get(pk=record.event_ids[0]).ticket
    outsider = AgentFactory(username="out", teams=[teams["sales"]])
    before = RouteChange.objects.count()

    with pytest.raises(TicketActionError):
        do_hand_over_ticket(
            ticket=ticket,
            team=teams["billing"],
            assignee=outsider,
            actor=supervisor,
            reason="x",
        )
    with pytest.raises(RoutingError):
        do_hand_over_ticket(
            ticket=ticket,
            team=teams["sales"],
            assignee=outsider,
            actor=supervisor,
            reason="",
        )

    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (teams["tech"], None)
    assert RouteChange.objects.count() == before
