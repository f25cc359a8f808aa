"""/api/v1/rules/: the routing rules page over HTTP. Each change is checked on
what routing then does with a new ticket."""

import itertools

import pytest

from tests.factories import RoutingRuleFactory
from tests.helpers import message
from tests.tickets.api.conftest import opened
from tickets.models import RouteChange, RoutingRule

pytestmark = pytest.mark.django_db

RULES = "/api/v1/rules/"
_customers = itertools.count(1)


def new_ticket(text: str = "Where is my refund?", channel: str = "email"):
    """A new customer's first message, routed as production routes it."""
    address = f"customer{next(_customers)}@example.com"
    return opened(message(channel, ("email", address), text=text))


def names() -> list[str]:
    return list(RoutingRule.objects.order_by("position").values_list("name", flat=True))


@pytest.fixture
def admin_client(api_client, supervisor):
    return api_client(supervisor, "admin")


# ---------------------------------------------------------------- who may do what


def test_agents_are_refused_every_rules_endpoint(api_client, billing_agent, teams):
    rule = RoutingRuleFactory(name="Refunds", team=teams["billing"])
    client = api_client(billing_agent, "admin")

    answers = [
        client.get(RULES),
        client.get(f"{RULES}{rule.pk}/"),
        client.post(RULES, {"name": "X", "team": teams["tech"].pk}, format="json"),
        client.patch(f"{RULES}{rule.pk}/", {"enabled": False}, format="json"),
        client.delete(f"{RULES}{rule.pk}/"),
        client.post(f"{RULES}order/", {"ids": [rule.pk]}, format="json"),
    ]

    assert [a.status_code for a in answers] == [403] * 6
    assert answers[0].json()["error"]["code"] == "permission_denied"
    rule.refresh_from_db()
    assert rule.enabled


@pytest.mark.parametrize("scope", ["read", "write"])
def test_changing_rules_needs_the_admin_scope(api_client, supervisor, teams, scope):
    """Rules are the desk's configuration: a read or write token only reads them."""
    rule = RoutingRuleFactory(name="Refunds", team=teams["billing"])
    client = api_client(supervisor, scope)

    listed = client.get(RULES)
    created = client.post(RULES, {"name": "X", "team": teams["tech"].pk})
    changed = client.patch(f"{RULES}{rule.pk}/", {"name": "Y"}, format="json")

    assert listed.status_code == 200
    assert [row["name"] for row in listed.json()] == ["Refunds"]
    assert (created.status_code, changed.status_code) == (403, 403)
    assert names() == ["Refunds"]


# ----------------------------------------------------------- changes and routing


def test_a_created_rule_routes_the_next_ticket(admin_client, teams):
    response = admin_client.post(
        RULES,
        {
            "name": " Refunds ",
            "team": teams["billing"].pk,
            "keywords": ["Refund"],
            "channels": ["email"],
        },
        format="json",
    )

    assert response.status_code == 201
    rule = response.json()
    assert rule["name"] == "Refunds"
    assert rule["keywords"] == ["refund"]
    assert rule["team"]["slug"] == "billing"
    assert rule["open_tickets"] == 0
    assert new_ticket("Where is my refund?").team == teams["billing"]
    assert new_ticket("The app crashes").team == teams["tech"]


def test_an_edited_rule_routes_by_its_new_conditions_and_its_switch(
    admin_client, teams
):
    rule = RoutingRuleFactory(
        name="Refunds", team=teams["billing"], keywords=["refund"]
    )
    url = f"{RULES}{rule.pk}/"

    edited = admin_client.patch(url, {"keywords": ["invoice"]}, format="json")

    assert edited.status_code == 200
    assert edited.json()["name"] == "Refunds"
    assert new_ticket("Where is my refund?").team == teams["tech"]
    assert new_ticket("A wrong invoice").team == teams["billing"]

    switched_off = admin_client.patch(url, {"enabled": False}, format="json")

    assert switched_off.json()["enabled"] is False
    assert switched_off.json()["keywords"] == ["invoice"]
    assert new_ticket("Another wrong invoice").team == teams["tech"]


def test_a_replaced_rule_loses_the_conditions_left_out(admin_client, teams):
    rule = RoutingRuleFactory(
        name="Refunds", team=teams["billing"], keywords=["refund"], channels=["sms"]
    )

    response = admin_client.put(
        f"{RULES}{rule.pk}/", {"name": "All mail", "channels": ["email"]}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["keywords"], response.json()["channels"]) == (
        [],
        ["email"],
    )
    assert new_ticket("Anything at all").team == teams["billing"]


def test_a_new_order_changes_which_rule_wins(admin_client, teams):
    refunds = RoutingRuleFactory(
        name="Refunds", team=teams["billing"], keywords=["refund"]
    )
    shop = RoutingRuleFactory(name="Shop", team=teams["sales"], keywords=["refund"])
    assert new_ticket().team == teams["billing"]

    response = admin_client.post(
        f"{RULES}order/", {"ids": [shop.pk, refunds.pk]}, format="json"
    )

    assert response.status_code == 200
    assert [row["name"] for row in response.json()] == ["Shop", "Refunds"]
    assert [row["position"] for row in response.json()] == [0, 1]
    assert new_ticket().team == teams["sales"]


def test_an_order_that_leaves_out_a_rule_changes_nothing(admin_client, teams):
    """An order made before someone added a rule would silently drop it."""
    refunds = RoutingRuleFactory(name="Refunds", team=teams["billing"])
    RoutingRuleFactory(name="Added meanwhile", team=teams["sales"])

    response = admin_client.post(f"{RULES}order/", {"ids": [refunds.pk]}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert names() == ["Refunds", "Added meanwhile"]


def test_a_deleted_rule_routes_nothing_and_the_rest_close_up(admin_client, teams):
    refunds = RoutingRuleFactory(
        name="Refunds", team=teams["billing"], keywords=["refund"]
    )
    placed = new_ticket()
    RoutingRuleFactory(name="Sales", team=teams["sales"], keywords=["quote"])

    response = admin_client.delete(f"{RULES}{refunds.pk}/")

    assert response.status_code == 204
    assert list(RoutingRule.objects.values_list("name", "position")) == [("Sales", 0)]
    assert new_ticket().team == teams["tech"]
    placed.refresh_from_db()
    assert placed.team == teams["billing"]
    assert admin_client.get(f"{RULES}{refunds.pk}/").status_code == 404


def test_pointing_a_rule_elsewhere_can_move_its_open_tickets(
    admin_client, supervisor, teams
):
    rule = RoutingRuleFactory(
        name="Refunds", team=teams["billing"], keywords=["refund"]
    )
    first, second = new_ticket(), new_ticket()
    assert admin_client.get(f"{RULES}{rule.pk}/").json()["open_tickets"] == 2

    response = admin_client.post(
        f"{RULES}{rule.pk}/team/",
        {"team": teams["sales"].pk, "reroute_open": True, "reason": "Sales refunds"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["rule"]["team"]["slug"] == "sales"
    assert sorted(response.json()["moved_tickets"]) == [first.pk, second.pk]
    move = RouteChange.objects.filter(ticket=first).latest("id")
    assert (move.from_team, move.to_team, move.actor, move.reason) == (
        teams["billing"],
        teams["sales"],
        supervisor,
        "Sales refunds",
    )
    assert new_ticket().team == teams["sales"]


def test_pointing_a_rule_elsewhere_alone_leaves_its_tickets(admin_client, teams):
    rule = RoutingRuleFactory(
        name="Refunds", team=teams["billing"], keywords=["refund"]
    )
    placed = new_ticket()

    response = admin_client.post(
        f"{RULES}{rule.pk}/team/", {"team": teams["sales"].pk}, format="json"
    )

    assert response.json()["moved_tickets"] == []
    placed.refresh_from_db()
    assert placed.team == teams["billing"]
    assert new_ticket().team == teams["sales"]


# -------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channels": ["fax"]}, "channels"),
        ({"channels": ["internal"]}, "channels"),
        ({"name": "   "}, "name"),
        ({"position": 0}, "position"),
        ({"team": 1}, "team"),
    ],
)
def test_an_invalid_change_is_refused_and_changes_nothing(
    admin_client, teams, body, field
):
    """Unknown channels, a blank name, and fields the edit does not set (its
    place and its team have their own endpoints)."""
    rule = RoutingRuleFactory(name="Refunds", team=teams["billing"])

    response = admin_client.patch(f"{RULES}{rule.pk}/", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["fields"]
    rule.refresh_from_db()
    assert (rule.name, rule.channels, rule.team) == ("Refunds", [], teams["billing"])


def test_a_new_rule_needs_a_name_and_a_team(admin_client, teams):
    response = admin_client.post(RULES, {"keywords": ["x"]}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"name", "team"}
    assert not RoutingRule.objects.exists()
