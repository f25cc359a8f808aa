"""Who may do what through /api/v1/tickets/: another team's ticket is a 404 on
every endpoint, a read token writes nothing, fields an action does not take are
refused, and a browser session writes only with its CSRF token."""

import pytest
from django.test import Client

from tests.factories import AgentFactory
from tickets.actions.tickets import do_assign_ticket
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


def post(client, ticket: Ticket, path: str, body):
    return client.post(f"{TICKETS}{ticket.pk}/{path}", body, format="json")


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("team", "assignee").get(pk=ticket.pk)


# Every endpoint of one ticket, with a body each would accept.
ENDPOINTS = [
    ("get", "", None),
    ("get", "timeline/", None),
    ("post", "reply/", {"text": "Hello", "channel": "email"}),
    ("post", "template/", {"template_name": "hello", "language": "en"}),
    ("post", "notes/", {"text": "A note"}),
    (
        "post",
        "calls/",
        {
            "direction": "inbound",
            "number": "+14155552671",
            "duration_seconds": 60,
            "outcome": "answered",
        },
    ),
    ("post", "status/", {"status": "pending"}),
    ("post", "priority/", {"priority": "urgent"}),
    ("post", "assign/", {"assignee": None}),
    ("post", "reassign/", {"team": None, "reason": "Theirs"}),
    ("post", "resolve/", {"resolution_note": "Done."}),
]


def test_another_teams_ticket_is_a_404_on_every_endpoint(
    api_client, tech_agent, teams, billing_ticket
):
    client = api_client(tech_agent, "read", "write")
    before = TimelineEvent.objects.filter(ticket=billing_ticket).count()

    for method, path, body in ENDPOINTS:
        if body and "team" in body:
            body = {**body, "team": teams["tech"].pk}
        url = f"{TICKETS}{billing_ticket.pk}/{path}"
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, (path, response.json())
        assert response.json()["error"]["code"] == "not_found"

    billing_ticket.refresh_from_db()
    assert (billing_ticket.team, billing_ticket.status) == (teams["billing"], "new")
    assert TimelineEvent.objects.filter(ticket=billing_ticket).count() == before


@pytest.mark.parametrize("ticket_id", ["987654", "99999999999999999999", "abc", "1.5"])
def test_a_ticket_that_does_not_exist_is_the_same_json_404(
    api_client, tech_agent, teams, ticket_id
):
    client = api_client(tech_agent, "read", "write")

    for method, path, body in ENDPOINTS:
        url = f"{TICKETS}{ticket_id}/{path}"
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


def test_an_agent_assigned_another_teams_ticket_sees_it(
    api_client, teams, billing_ticket
):
    """The selector's rule: an assignee sees the ticket whichever team owns it."""
    lea = AgentFactory(username="lea", teams=[teams["billing"]])
    do_assign_ticket(ticket=billing_ticket, assignee=lea, actor=lea)
    lea.teams.clear()

    response = api_client(lea, "read").get(f"{TICKETS}{billing_ticket.pk}/")

    assert response.status_code == 200


def test_without_credentials_the_answer_is_a_401_in_the_error_shape(client, teams):
    response = client.get(TICKETS)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_browser_session_reads_without_a_token(client, tech_agent, tech_ticket):
    client.force_login(tech_agent)

    response = client.get(f"{TICKETS}{tech_ticket.pk}/")

    assert response.status_code == 200
    assert response.json()["id"] == tech_ticket.pk


# ------------------------------------------------------------ scopes and fields


def test_a_read_token_is_refused_every_write(
    api_client, supervisor, teams, tech_ticket
):
    client = api_client(supervisor, "read")
    before = TimelineEvent.objects.count()

    for method, path, body in ENDPOINTS:
        if method == "get":
            continue
        if body and "team" in body:
            body = {**body, "team": teams["sales"].pk}
        response = post(client, tech_ticket, path, body)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "permission_denied"

    assert TimelineEvent.objects.count() == before
    ticket = fresh(tech_ticket)
    assert (ticket.status, ticket.priority, ticket.team) == (
        "new",
        "normal",
        teams["tech"],
    )


CALL = {
    "direction": "inbound",
    "number": "+14155552671",
    "duration_seconds": 5,
    "outcome": "answered",
}


@pytest.mark.parametrize(
    "path, body, smuggled",
    [
        ("notes/", {"text": "hi"}, "team"),
        ("notes/", {"text": "hi"}, "author"),
        ("notes/", {"text": "hi"}, "status"),
        ("reply/", {"text": "hi"}, "customer"),
        ("reply/", {"text": "hi"}, "author"),
        ("status/", {"status": "pending"}, "team"),
        ("priority/", {"priority": "high"}, "assignee"),
        ("assign/", {"assignee": None}, "team"),
        ("resolve/", {"resolution_note": "Fixed."}, "customer"),
        ("calls/", CALL, "ticket"),
    ],
)
def test_fields_an_action_does_not_take_are_refused_not_ignored(
    api_client,
    tech_agent,
    billing_agent,
    teams,
    tech_ticket,
    billing_ticket,
    path,
    body,
    smuggled,
):
    values = {
        "team": teams["billing"].pk,
        "author": billing_agent.pk,
        "assignee": billing_agent.pk,
        "status": "closed",
        "customer": billing_ticket.customer_id,
        "ticket": billing_ticket.pk,
    }
    before = TimelineEvent.objects.count()

    response = post(
        api_client(tech_agent), tech_ticket, path, {**body, smuggled: values[smuggled]}
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {smuggled: ["Unknown field."]}
    assert TimelineEvent.objects.count() == before
    ticket = fresh(tech_ticket)
    assert (ticket.team, ticket.status, ticket.priority, ticket.assignee) == (
        teams["tech"],
        "new",
        "normal",
        None,
    )


def test_a_body_that_is_not_an_object_is_a_400(api_client, tech_agent, tech_ticket):
    response = post(api_client(tech_agent), tech_ticket, "notes/", ["hi"])

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_browser_session_writes_with_its_csrf_token_only(tech_agent, tech_ticket):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(tech_agent)
    browser.get(f"/tickets/{tech_ticket.pk}/")
    url = f"{TICKETS}{tech_ticket.pk}/notes/"

    forged = browser.post(url, {"text": "hi"}, content_type="application/json")
    token = browser.cookies["csrftoken"].value
    sent = browser.post(
        url, {"text": "hi"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )

    assert forged.status_code == 403
    assert "CSRF" in forged.json()["error"]["message"]
    assert sent.status_code == 201
    assert TimelineEvent.objects.filter(ticket=tech_ticket, kind="note").count() == 1
