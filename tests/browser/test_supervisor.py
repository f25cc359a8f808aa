"""Supervisors' pages in a real browser: a reassignment moves a ticket between
the agents' open queues live, and the routing page answers "try it" in place."""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.browser.conftest import save_docs_screenshot, wait_until_live
from tests.factories import RoutingRuleFactory
from tests.helpers import deliver, message
from tickets.models import RouteChange, Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

SCREENSHOT = Path(settings.BASE_DIR) / "docs" / "routing.png"


def test_a_reassigned_ticket_moves_between_team_queues_live(
    open_page, desk_server, teams, supervisor, tech_agent, billing_agent
):
    deliver(
        message(
            "email",
            ("email", "lena@example.com"),
            subject="Charged twice for one order",
            sender_name="Lena Fischer",
            text="Hello, my card was charged twice.",
        )
    )
    ticket = Ticket.objects.get()
    assert ticket.team == teams["tech"]
    row = f"#queue-ticket-{ticket.pk}"

    tech_queue = open_page(tech_agent)
    billing_queue = open_page(billing_agent)
    overview = open_page(supervisor)
    overview.goto(f"{desk_server.url}/supervisor/teams/")
    for page in (tech_queue, billing_queue, overview):
        wait_until_live(page)
        # Gone should the page ever reload.
        page.evaluate("window.sameDocument = true")
    expect(tech_queue.locator(row)).to_be_visible()
    expect(billing_queue.locator(row)).to_have_count(0)
    tech_open = overview.locator(
        f"tr[data-team-id='{teams['tech'].pk}'] [data-stat=open]"
    )
    billing_open = overview.locator(
        f"tr[data-team-id='{teams['billing'].pk}'] [data-stat=open]"
    )
    expect(tech_open).to_have_text("1")
    expect(billing_open).to_have_text("0")

    desk = open_page(supervisor)
    desk.goto(f"{desk_server.url}/supervisor/teams/{teams['tech'].pk}/")
    desk.check(f"input[name=ticket][value='{ticket.pk}']")
    desk.select_option("#bulk-target", f"team:{teams['billing'].pk}")
    desk.fill("#bulk-reason", "A billing question after all")
    desk.click("#bulk-form button[type=submit]")
    expect(desk.locator(".sv-messages")).to_contain_text(
        "Handed 1 ticket(s) to Billing"
    )

    expect(tech_queue.locator(row)).to_have_count(0)
    expect(billing_queue.locator(row)).to_be_visible()
    expect(billing_queue.locator(row)).to_contain_text("Lena Fischer")
    expect(tech_open).to_have_text("0")
    expect(billing_open).to_have_text("1")
    for page in (tech_queue, billing_queue, overview):
        assert page.evaluate("window.sameDocument") is True
    change = RouteChange.objects.latest("id")
    assert (change.from_team, change.to_team, change.actor, change.reason) == (
        teams["tech"],
        teams["billing"],
        supervisor,
        "A billing question after all",
    )


def test_try_it_answers_on_the_routing_page(open_page, desk_server, teams, supervisor):
    """The sample's rule and team show in place, without leaving the page."""
    RoutingRuleFactory(
        name="Billing questions",
        team=teams["billing"],
        keywords=["invoice", "refund", "charge"],
        position=0,
    )
    RoutingRuleFactory(
        name="Technical faults",
        team=teams["tech"],
        keywords=["router", "error", "crash"],
        position=1,
    )
    RoutingRuleFactory(
        name="Enterprise accounts",
        team=teams["sales"],
        segments=["enterprise"],
        position=2,
    )
    RoutingRuleFactory(
        name="Phone calls", team=teams["tech"], channels=["phone"], position=3
    )
    page = open_page(supervisor)
    page.goto(f"{desk_server.url}/supervisor/rules/")
    wait_until_live(page)
    page.evaluate("window.sameDocument = true")

    page.select_option("#try_channel", "email")
    page.fill("#try_subject", "Adding seats for our Lisbon office")
    page.fill("#try_text", "We need 40 more seats from next week.")
    page.fill("#try_segments", "enterprise")
    page.click("aside button[type=submit]")

    result = page.locator("#try-result")
    expect(result).to_contain_text("Would go to Sales by rule Enterprise accounts")
    expect(result).to_contain_text("number 3 in the order")
    assert page.evaluate("window.sameDocument") is True

    page.evaluate("document.activeElement.blur()")
    save_docs_screenshot(page, SCREENSHOT, full_page=True)
