"""Who reads an internal note (tickets.selectors.timeline_events_visible_to),
through every door that shows a timeline: the ticket page and its partials, the
customer page, and both timelines of the API.

Ana has a Technical-support ticket with a note on it and a Billing ticket. A
Billing agent sees Ana and her one timeline, messages of both tickets included,
but not the note; Technical support and supervisors read it.
"""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import TestCase
from rest_framework.test import APIClient

from tests.factories import AgentFactory, RoutingRuleFactory
from tests.helpers import deliver, message
from tickets.actions.tickets import do_add_note, do_assign_ticket
from tickets.models import Ticket, TimelineEvent
from tickets.timeline import encode_cursor

pytestmark = pytest.mark.django_db

NOTE = "Tech only: her router serial is RX-4471"
TECH_MESSAGE = "My router keeps dropping"
BILLING_MESSAGE = "Please fix my invoice"


@pytest.fixture
def ana(teams, tech_agent) -> dict[str, Ticket]:
    """Ana's tickets, one per team, and a note on the Technical-support one."""
    RoutingRuleFactory(team=teams["billing"], keywords=["invoice"])
    deliver(message("email", ("email", "ana@example.com"), text=TECH_MESSAGE))
    deliver(message("email", ("email", "ana@example.com"), text=BILLING_MESSAGE))
    tech = Ticket.objects.get(team=teams["tech"])
    billing = Ticket.objects.get(team=teams["billing"])
    assert tech.customer_id == billing.customer_id
    with TestCase.captureOnCommitCallbacks(execute=True):
        do_add_note(ticket=tech, author=tech_agent, text=NOTE)
    return {"tech": tech, "billing": billing}


def pages(client, tickets: dict[str, Ticket]) -> dict[str, str]:
    """Every page and partial that shows Ana's timeline beside the given ticket."""
    ticket = tickets["billing"] if "billing" in tickets else tickets["tech"]
    customer_id = ticket.customer_id
    urls = {
        "ticket page": f"/tickets/{ticket.pk}/",
        "older events": f"/tickets/{ticket.pk}/timeline/?cursor="
        + _cursor_before_newest(client, ticket),
        "newer events": f"/tickets/{ticket.pk}/timeline/?after=0",
        "customer page": f"/customers/{customer_id}/",
    }
    answers = {name: client.get(url) for name, url in urls.items()}
    for name, response in answers.items():
        assert response.status_code == 200, name
    return {name: response.content.decode() for name, response in answers.items()}


def _cursor_before_newest(client, ticket: Ticket) -> str:
    # A cursor of this desk's own, just past the newest event: the partial then
    # pages through everything older.
    newest = TimelineEvent.objects.filter(customer_id=ticket.customer_id).first()
    newest.pk += 1
    return encode_cursor(newest)


def api_timelines(user, ticket: Ticket) -> dict[str, list[str]]:
    client = APIClient()
    client.force_login(user)
    urls = {
        "ticket timeline": f"/api/v1/tickets/{ticket.pk}/timeline/",
        "customer timeline": f"/api/v1/customers/{ticket.customer_id}/timeline/",
    }
    texts = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, (name, response.content)
        texts[name] = [event["text"] for event in response.json()["results"]]
    return texts


def test_a_billing_agent_reads_anas_messages_but_not_the_other_teams_note(
    client, ana, billing_agent
):
    client.force_login(billing_agent)

    for name, html in pages(client, {"billing": ana["billing"]}).items():
        assert BILLING_MESSAGE in html, name
        assert TECH_MESSAGE in html, name
        assert NOTE not in html, name
    for name, texts in api_timelines(billing_agent, ana["billing"]).items():
        assert BILLING_MESSAGE in texts and TECH_MESSAGE in texts, name
        assert NOTE not in texts, name


def test_the_ticket_of_the_note_stays_closed_to_the_other_team(
    client, ana, billing_agent
):
    client.force_login(billing_agent)

    assert client.get(f"/tickets/{ana['tech'].pk}/").status_code == 404
    api = APIClient()
    api.force_login(billing_agent)
    assert api.get(f"/api/v1/tickets/{ana['tech'].pk}/timeline/").status_code == 404


def test_the_team_of_the_ticket_reads_its_note(client, ana, tech_agent):
    client.force_login(tech_agent)

    for name, html in pages(client, {"tech": ana["tech"]}).items():
        assert NOTE in html, name
    for name, texts in api_timelines(tech_agent, ana["tech"]).items():
        assert NOTE in texts, name


def test_an_agent_the_ticket_is_assigned_to_reads_its_note(client, ana, teams):
    """Whoever may see the ticket reads its notes: its assignee too."""
    lent = AgentFactory(username="lena", teams=[teams["billing"], teams["tech"]])
    with TestCase.captureOnCommitCallbacks(execute=True):
        do_assign_ticket(ticket=ana["tech"], assignee=lent)
    lent.teams.remove(teams["tech"])
    client.force_login(lent)

    assert NOTE in pages(client, {"billing": ana["billing"]})["customer page"]


def test_a_supervisor_reads_every_note(client, ana, supervisor):
    client.force_login(supervisor)

    for name, html in pages(client, {"billing": ana["billing"]}).items():
        assert NOTE in html, name
    for name, texts in api_timelines(supervisor, ana["billing"]).items():
        assert NOTE in texts, name


def test_when_agents_see_every_team_they_read_every_note(
    client, ana, billing_agent, settings
):
    settings.AGENTS_SEE_ALL_TEAMS = True
    client.force_login(billing_agent)

    assert NOTE in pages(client, {"billing": ana["billing"]})["customer page"]
    assert NOTE in api_timelines(billing_agent, ana["billing"])["customer timeline"]


def test_the_export_holds_every_note_for_the_operator(ana):
    """export_customer is the operator's full record, run from the server's shell:
    notes are in it, marked as notes."""
    out = StringIO()

    call_command("export_customer", "email:ana@example.com", stdout=out)

    notes = [e for e in _export_events(out.getvalue()) if e["kind"] == "note"]
    assert [(e["text"], e["ticket_id"]) for e in notes] == [(NOTE, ana["tech"].pk)]


def _export_events(document: str) -> list[dict]:
    return json.loads(document)["events"]
