"""The pages' Content-Security-Policy in a real browser: every kind of page runs
under it without a violation (the shared fixture fails any test that has one),
inline code put into a page is refused and reported to the desk's log, and no
other site may frame a desk page."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import wait_until_live
from tests.browser.host_site import HostSite
from tests.browser.widget_support import wait_until
from tests.factories import AgentFactory, RoutingRuleFactory
from tests.helpers import deliver, message
from tickets.models import Agent, TimelineEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

ANA_EMAIL = ("email", "ana@example.com")


@pytest.fixture
def ticket(teams):
    record = deliver(
        message(
            "email",
            ANA_EMAIL,
            sender_name="Ana Silva",
            subject="Login fails",
            text="I cannot log in since this morning.",
        )
    )
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def visit(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")


def test_an_agents_pages_run_without_a_violation(page, desk_server, ticket):
    """The queue, a ticket and the customer's timeline, with their live socket
    and htmx parts, and the call form."""
    wait_until_live(page)
    expect(page.get_by_text("Login fails")).to_be_visible()

    visit(page, f"{desk_server.url}/tickets/{ticket.pk}/")
    wait_until_live(page)
    # The timeline's older events and the header come through htmx and fetch.
    page.select_option("select[name=priority]", "high")
    expect(page.locator("#ticket-header [data-field=priority]")).to_have_class(
        "badge pr-high"
    )
    visit(page, f"{desk_server.url}/customers/{ticket.customer_id}/")
    wait_until_live(page)
    visit(page, f"{desk_server.url}/calls/new/")
    page.keyboard.press("?")


def test_a_supervisors_pages_run_without_a_violation(
    open_page, desk_server, teams, supervisor, ticket
):
    page = open_page(supervisor)
    rule = RoutingRuleFactory(
        name="Refunds", team=teams["billing"], keywords=["refund"], position=0
    )

    for path in (
        "/supervisor/rules/",
        f"/supervisor/rules/{rule.pk}/",
        "/supervisor/teams/",
        f"/supervisor/teams/{ticket.team_id}/",
        "/supervisor/audit/",
        "/supervisor/customers/?q=ana",
        "/supervisor/intake/",
    ):
        visit(page, f"{desk_server.url}{path}")
        wait_until_live(page)
    # The routing page's "try it" answers through htmx.
    visit(page, f"{desk_server.url}/supervisor/rules/")
    page.fill("#try_text", "I want a refund")
    page.click("aside button[type=submit]")
    expect(page.locator("#try-result")).to_contain_text("Would go to Billing")


def test_the_admin_sign_in_and_api_docs_run_without_a_violation(
    browser, open_page, desk_server, ticket
):
    """Django's admin needs nothing inline, so it runs under the desk's policy
    unchanged; Swagger UI draws the API from its files."""
    anonymous = browser.new_context()
    try:
        sign_in = anonymous.new_page()
        visit(sign_in, f"{desk_server.url}/login/")
        visit(sign_in, f"{desk_server.url}/api/docs/")
        expect(sign_in.locator(".swagger-ui .info .title")).to_contain_text(
            "Support desk API"
        )
    finally:
        anonymous.close()

    root = AgentFactory(
        username="root", role=Agent.Role.ADMIN, is_staff=True, is_superuser=True
    )
    page = open_page(root)
    for path in (
        "/admin/",
        "/admin/tickets/ticket/",
        f"/admin/tickets/ticket/{ticket.pk}/change/",
        "/admin/tickets/agent/add/",
        f"/admin/tickets/agent/{root.pk}/change/",
        "/admin/channels_app/inbox/add/",
        "/admin/tickets/routechange/",
    ):
        visit(page, f"{desk_server.url}{path}")
        expect(page.locator("#content")).to_be_visible()
    # The admin's own scripts: the theme switch and the sidebar filter.
    page.locator("button.theme-toggle").first.click()
    page.fill("#nav-filter", "tick")


def test_inline_code_in_a_page_is_refused_and_reported(
    page, desk_server, policy_violations
):
    """A style attribute or script that got into a page does nothing: the
    browser refuses it, and its report reaches the desk's log."""
    page.evaluate(
        """() => {
          document.body.insertAdjacentHTML(
            "beforeend", '<p id="probe" style="color: rgb(255, 0, 0)">probe</p>');
          const script = document.createElement("script");
          script.textContent = "window.injectedRan = true;";
          document.body.append(script);
        }"""
    )

    color = page.eval_on_selector("#probe", "p => getComputedStyle(p).color")
    assert color != "rgb(255, 0, 0)"
    assert page.evaluate("window.injectedRan === undefined")
    wait_until(
        page,
        lambda: (
            any("style-src-attr" in v for v in policy_violations)
            and any("script-src-elem" in v for v in policy_violations)
        ),
        "the browser reported both refusals",
    )
    wait_until(
        page,
        lambda: (
            "Content-Security-Policy violation" in desk_server.output()
            and "script-src-elem" in desk_server.output()
        ),
        "the desk logged the browser's reports",
    )
    # Caused on purpose: the test has seen them.
    policy_violations.clear()


def test_another_site_cannot_frame_a_desk_page(browser, desk_server, policy_violations):
    site = HostSite().start()
    context = browser.new_context()
    try:
        site.pages["/"] = (
            f'<!doctype html><iframe id="desk" src="{desk_server.url}/login/"></iframe>'
        )
        page = context.new_page()
        page.goto(site.url("/"))
        frame = page.locator("#desk").element_handle()
        wait_until(
            page,
            lambda: frame.content_frame().url.startswith("chrome-error:"),
            "the browser blocked the frame",
        )
        refused = wait_until(
            page,
            lambda: [v for v in policy_violations if "frame-ancestors 'none'" in v],
            "the browser named the desk's frame-ancestors",
        )
    finally:
        context.close()
        site.stop()
    for violation in refused:
        policy_violations.remove(violation)
