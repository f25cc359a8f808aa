"""Every desk, supervisor and admin page carries the desk's Content-Security-Policy
(no inline code, never framed, violations reported) and a Permissions-Policy
that switches off the devices no page uses; the chat widget's frame keeps its own
policy, which lets the inbox's sites frame it."""

import re

import pytest
from django.urls import reverse

from channels_app.models import Inbox
from tests.factories import AgentFactory, RoutingRuleFactory
from tests.helpers import deliver, message
from tickets.models import Agent, TimelineEvent

pytestmark = pytest.mark.django_db

ANA_EMAIL = ("email", "ana@example.com")
# Markup the policy would refuse: an inline script (data in a JSON script element
# is not run), a style element or attribute, an event handler, a javascript: URL.
INLINE_CODE = re.compile(
    r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>"
    r"|<style|\sstyle=|\son[a-z]+=|javascript:",
    re.IGNORECASE,
)


def policy_of(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as directive → its values."""
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_desk_policy(response) -> None:
    assert response.status_code == 200, response.status_code
    policy = policy_of(response)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["report-uri"] == ["/csp-report/"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    features = dict(
        item.strip().split("=") for item in response["Permissions-Policy"].split(",")
    )
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert features[feature] == "()"


def assert_no_inline_code(response) -> None:
    found = INLINE_CODE.findall(response.content.decode())
    assert not found, found


@pytest.fixture
def ticket(teams):
    record = deliver(
        message("email", ANA_EMAIL, sender_name="Ana Silva", subject="Login fails")
    )
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


@pytest.fixture
def root(db):
    return AgentFactory(
        username="root", role=Agent.Role.ADMIN, is_staff=True, is_superuser=True
    )


def test_the_sign_in_page(client):
    response = client.get(reverse("login"))

    assert_desk_policy(response)
    assert_no_inline_code(response)


def test_an_agents_queue_ticket_and_customer_timeline(client, tech_agent, ticket):
    client.force_login(tech_agent)

    for url in (
        reverse("queue"),
        reverse("ticket", args=[ticket.pk]),
        reverse("customer-timeline", args=[ticket.customer_id]),
        reverse("log-call"),
    ):
        response = client.get(url)
        assert_desk_policy(response)
        assert_no_inline_code(response)


def test_the_pages_htmx_swaps_in_carry_no_inline_code(client, tech_agent, ticket):
    """Parts of pages fetched by htmx or the page's scripts are put in as they
    come: a style attribute or script among them would be refused."""
    client.force_login(tech_agent)

    for url in (
        reverse("queue-row", args=[ticket.pk]),
        reverse("ticket-timeline", args=[ticket.pk]),
    ):
        response = client.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert_no_inline_code(response)


def test_the_supervisors_pages(client, supervisor, teams, ticket):
    client.force_login(supervisor)
    rule = RoutingRuleFactory(team=teams["billing"])

    for url in (
        reverse("rules"),
        reverse("supervisor-rule-edit", args=[rule.pk]),
        reverse("teams"),
        reverse("supervisor-team", args=[ticket.team_id]),
        reverse("audit"),
        reverse("supervisor-customers") + "?q=ana",
        reverse("supervisor-intake"),
    ):
        response = client.get(url)
        assert_desk_policy(response)
        assert_no_inline_code(response)


def test_the_admin(client, root, ticket):
    """Django's admin runs under the same policy: its scripts are files."""
    client.force_login(root)

    for url in (
        reverse("admin:index"),
        reverse("admin:tickets_ticket_changelist"),
        reverse("admin:tickets_ticket_change", args=[ticket.pk]),
        reverse("admin:tickets_agent_add"),
        reverse("admin:channels_app_inbox_changelist"),
    ):
        response = client.get(url)
        assert_desk_policy(response)
        assert_no_inline_code(response)


def test_the_api_docs(client):
    response = client.get("/api/docs/")

    assert_desk_policy(response)
    assert_no_inline_code(response)


def test_the_widget_frame_keeps_its_own_policy(client, db):
    """The inbox's sites may still frame the chat widget; its own policy is the
    one sent, not the desk pages'."""
    Inbox.objects.create(
        adapter=Inbox.Adapter.CHAT,
        name="Shop chat",
        slug="shop",
        config={"allowed_origins": ["https://shop.example"]},
    )

    response = client.get("/widget/shop/")

    assert response.status_code == 200
    policy = policy_of(response)
    assert policy["frame-ancestors"] == ["'self'", "https://shop.example"]
    assert policy["script-src"] == ["'self'"]
    assert "X-Frame-Options" not in response
    assert_no_inline_code(response)
