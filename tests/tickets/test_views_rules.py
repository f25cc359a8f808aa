import pytest
from django.test import Client

from tests.factories import RoutingRuleFactory
from tests.helpers import deliver, message
from tickets.actions.tickets import do_resolve_ticket
from tickets.models import RouteChange, RoutingRule, Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

SUPERVISOR_PAGES = [
    "/supervisor/rules/",
    "/supervisor/teams/",
    "/supervisor/audit/",
    "/supervisor/customers/",
]


def routed(msg) -> Ticket:
    record = deliver(msg)
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def positions() -> list[tuple[str, int]]:
    return list(
        RoutingRule.objects.order_by("position").values_list("name", "position")
    )


@pytest.mark.parametrize("url", SUPERVISOR_PAGES)
def test_an_agent_is_refused_every_supervisor_page(client, billing_agent, url):
    """A frontline agent gets 403 on the supervisors' pages."""
    client.force_login(billing_agent)

    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", SUPERVISOR_PAGES)
def test_a_visitor_is_sent_to_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_an_agent_cannot_change_a_rule(client, billing_agent, teams):
    """A POST from an agent changes nothing."""
    rule = RoutingRuleFactory(name="Refunds", team=teams["billing"])
    client.force_login(billing_agent)

    response = client.post(f"/supervisor/rules/{rule.pk}/enabled/", {"enabled": "0"})

    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.enabled


def test_every_supervisor_post_needs_the_csrf_token(supervisor, teams):
    """Without the token a supervisor's POST is refused and changes nothing."""
    rule = RoutingRuleFactory(name="Refunds", team=teams["billing"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(supervisor)
    posts = {
        "/supervisor/rules/": {"name": "New", "team": teams["tech"].pk},
        "/supervisor/rules/order/": {"rule": [rule.pk]},
        f"/supervisor/rules/{rule.pk}/": {"name": "Renamed"},
        f"/supervisor/rules/{rule.pk}/move/": {"direction": "up"},
        f"/supervisor/rules/{rule.pk}/enabled/": {"enabled": "0"},
        f"/supervisor/rules/{rule.pk}/team/": {"team": teams["tech"].pk},
        f"/supervisor/teams/{teams['tech'].pk}/reassign/": {"target": "x"},
        "/supervisor/customers/merge/": {"source": "1", "target": "2"},
        "/supervisor/customers/merges/1/undo/": {},
        "/supervisor/customers/suggestions/1/": {"decision": "reject"},
    }

    for url, data in posts.items():
        assert client.post(url, data, HTTP_HX_REQUEST="true").status_code == 403, url

    rule.refresh_from_db()
    assert (rule.name, rule.enabled, rule.team_id) == (
        "Refunds",
        True,
        teams["billing"].pk,
    )
    assert RoutingRule.objects.count() == 1


def test_the_list_shows_rules_in_order(client, supervisor, teams):
    RoutingRuleFactory(name="Second", team=teams["sales"], position=5)
    RoutingRuleFactory(name="First", team=teams["billing"], position=1)
    client.force_login(supervisor)

    page = client.get("/supervisor/rules/").content.decode()

    assert page.index("First") < page.index("Second")


def test_a_new_rule_goes_last_and_routes_new_messages(client, supervisor, teams):
    """A rule created on the page decides the team of the next matching message."""
    RoutingRuleFactory(name="Existing", team=teams["sales"], keywords=["pricing"])
    client.force_login(supervisor)

    response = client.post(
        "/supervisor/rules/",
        {
            "name": "Refunds",
            "team": teams["billing"].pk,
            "channels": ["email", "whatsapp"],
            "keywords": "refund, chargeback",
            "segments": "",
            "languages": "",
        },
    )

    assert response.status_code == 302
    rule = RoutingRule.objects.get(name="Refunds")
    assert (rule.channels, rule.keywords) == (
        ["email", "whatsapp"],
        ["refund", "chargeback"],
    )
    assert [name for name, _ in positions()] == ["Existing", "Refunds"]
    ticket = routed(message("email", text="I want a refund please"))
    assert (ticket.team, ticket.routed_by_rule) == (teams["billing"], rule)


def test_a_rule_without_a_name_is_refused(client, supervisor, teams):
    client.force_login(supervisor)

    response = client.post(
        "/supervisor/rules/", {"name": " ", "team": teams["billing"].pk}
    )

    assert response.status_code == 400
    assert not RoutingRule.objects.exists()


def test_editing_conditions_changes_routing(client, supervisor, teams):
    """After the keywords change, a message with the new word follows the rule."""
    rule = RoutingRuleFactory(name="Billing", team=teams["billing"], keywords=["bill"])
    client.force_login(supervisor)
    assert "bill" in client.get(f"/supervisor/rules/{rule.pk}/").content.decode()

    response = client.post(
        f"/supervisor/rules/{rule.pk}/",
        {
            "name": "Billing words",
            "channels": ["chat"],
            "keywords": "invoice\nreceipt",
            "segments": "VIP",
            "languages": "de",
        },
    )

    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.channels, rule.keywords, rule.segments, rule.languages) == (
        "Billing words",
        ["chat"],
        ["invoice", "receipt"],
        ["vip"],
        ["de"],
    )
    assert rule.team == teams["billing"]
    # An email no longer matches the chat-only rule: the default team takes it.
    mail = routed(message("email", text="Where is my invoice?", language="de"))
    assert mail.team == teams["tech"]


def test_moving_a_rule_up_changes_which_rule_wins(client, supervisor, teams):
    """Two rules match; after the second moves up, new messages follow it."""
    RoutingRuleFactory(name="Money", team=teams["billing"], keywords=["price"])
    sales = RoutingRuleFactory(name="Deals", team=teams["sales"], keywords=["price"])
    RoutingRuleFactory(name="Other", team=teams["tech"], keywords=["broken"])
    assert routed(message("email", text="What is the price?")).team == teams["billing"]
    client.force_login(supervisor)

    response = client.post(
        f"/supervisor/rules/{sales.pk}/move/",
        {"direction": "up"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    # htmx gets the fresh table alone, in the new order.
    body = response.content.decode()
    assert "<html" not in body and body.index("Deals") < body.index("Money")
    assert positions() == [("Deals", 0), ("Money", 1), ("Other", 2)]
    ticket = routed(message("email", ("email", "b@example.com"), text="Price list?"))
    assert ticket.team == teams["sales"]


def test_moving_the_first_rule_up_keeps_the_order(client, supervisor, teams):
    first = RoutingRuleFactory(name="A", team=teams["billing"], position=3)
    RoutingRuleFactory(name="B", team=teams["sales"], position=7)
    client.force_login(supervisor)

    response = client.post(f"/supervisor/rules/{first.pk}/move/", {"direction": "up"})

    assert response.status_code == 302
    assert positions() == [("A", 0), ("B", 1)]


def test_a_dragged_order_is_saved_and_renumbered(client, supervisor, teams):
    a = RoutingRuleFactory(name="A", team=teams["billing"], position=10)
    b = RoutingRuleFactory(name="B", team=teams["sales"], position=20)
    c = RoutingRuleFactory(name="C", team=teams["tech"], position=30)
    client.force_login(supervisor)

    response = client.post(
        "/supervisor/rules/order/",
        {"rule": [c.pk, a.pk, b.pk]},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert positions() == [("C", 0), ("A", 1), ("B", 2)]


def test_an_order_that_leaves_out_a_rule_changes_nothing(client, supervisor, teams):
    """A stale page cannot drop a rule added meanwhile."""
    a = RoutingRuleFactory(name="A", team=teams["billing"], position=0)
    b = RoutingRuleFactory(name="B", team=teams["sales"], position=1)
    RoutingRuleFactory(name="New", team=teams["tech"], position=2)
    client.force_login(supervisor)

    response = client.post("/supervisor/rules/order/", {"rule": [b.pk, a.pk]})

    assert response.status_code == 409
    assert positions() == [("A", 0), ("B", 1), ("New", 2)]


def test_a_switched_off_rule_no_longer_routes(client, supervisor, teams):
    rule = RoutingRuleFactory(
        name="Refunds", team=teams["billing"], keywords=["refund"]
    )
    client.force_login(supervisor)

    client.post(f"/supervisor/rules/{rule.pk}/enabled/", {"enabled": "0"})

    rule.refresh_from_db()
    assert not rule.enabled
    assert routed(message("email", text="refund now")).team == teams["tech"]

    client.post(f"/supervisor/rules/{rule.pk}/enabled/", {"enabled": "1"})

    rule.refresh_from_db()
    assert rule.enabled
    ticket = routed(message("email", ("email", "z@example.com"), text="refund now"))
    assert ticket.team == teams["billing"]


def test_re_pointing_a_rule_moves_only_its_open_tickets(client, supervisor, teams):
    """With re-route ticked, the rule's open tickets move, each with a RouteChange;
    its resolved ticket and another rule's ticket stay."""
    refunds = RoutingRuleFactory(
        name="Refunds", team=teams["billing"], keywords=["refund"]
    )
    RoutingRuleFactory(name="Invoices", team=teams["billing"], keywords=["invoice"])
    open_one = routed(message("email", ("email", "a@example.com"), text="refund A"))
    open_two = routed(message("email", ("email", "b@example.com"), text="refund B"))
    done = routed(message("email", ("email", "c@example.com"), text="refund C"))
    do_resolve_ticket(ticket=done, actor=supervisor, resolution_note="Refunded.")
    other = routed(message("email", ("email", "d@example.com"), text="invoice D"))
    before = RouteChange.objects.count()
    client.force_login(supervisor)

    response = client.post(
        f"/supervisor/rules/{refunds.pk}/team/",
        {
            "team": teams["sales"].pk,
            "reroute_open": "on",
            "reason": "Sales owns refunds",
        },
    )

    assert response.status_code == 302
    refunds.refresh_from_db()
    assert refunds.team == teams["sales"]
    teams_now = dict(Ticket.objects.values_list("pk", "team__slug"))
    assert teams_now == {
        open_one.pk: "sales",
        open_two.pk: "sales",
        done.pk: "billing",
        other.pk: "billing",
    }
    changes = RouteChange.objects.order_by("id")[before:]
    assert [
        (c.ticket_id, c.from_team, c.to_team, c.actor, c.reason) for c in changes
    ] == [
        (t.pk, teams["billing"], teams["sales"], supervisor, "Sales owns refunds")
        for t in (open_one, open_two)
    ]


def test_re_pointing_without_re_route_leaves_tickets(client, supervisor, teams):
    rule = RoutingRuleFactory(
        name="Refunds", team=teams["billing"], keywords=["refund"]
    )
    ticket = routed(message("email", text="refund"))
    before = RouteChange.objects.count()
    client.force_login(supervisor)

    client.post(f"/supervisor/rules/{rule.pk}/team/", {"team": teams["sales"].pk})

    rule.refresh_from_db()
    ticket.refresh_from_db()
    assert (rule.team, ticket.team) == (teams["sales"], teams["billing"])
    assert RouteChange.objects.count() == before


def test_try_it_shows_the_rule_and_team_and_writes_nothing(client, supervisor, teams):
    RoutingRuleFactory(
        name="German VIPs", team=teams["sales"], segments=["vip"], languages=["de"]
    )
    RoutingRuleFactory(
        name="Refunds",
        team=teams["billing"],
        keywords=["refund"],
        channels=["whatsapp"],
    )
    client.force_login(supervisor)
    counts = (Ticket.objects.count(), RouteChange.objects.count())

    vip = client.get(
        "/supervisor/rules/",
        {
            "channel": "whatsapp",
            "subject": "",
            "text": "Refund please",
            "segments": "VIP, loyal",
            "language": "de-AT",
        },
        headers={"HX-Request": "true"},
    ).content.decode()
    refund = client.get(
        "/supervisor/rules/",
        {
            "channel": "whatsapp",
            "text": "Refunds please",
            "segments": "",
            "language": "",
        },
    ).content.decode()
    neither = client.get(
        "/supervisor/rules/",
        {"channel": "email", "text": "Refund please", "segments": "", "language": ""},
        headers={"HX-Request": "true"},
    ).content.decode()

    assert "German VIPs" in vip and "Sales" in vip and "<html" not in vip
    assert "by rule <strong>Refunds</strong>" in refund and "<html" in refund
    assert "Technical support" in neither and "no rule matched" in neither
    assert (Ticket.objects.count(), RouteChange.objects.count()) == counts
