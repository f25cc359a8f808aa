"""The agent's queue page, its rows partial and the single-row partial."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.helpers import deliver, message
from tickets.actions.routing import do_reassign_ticket
from tickets.actions.tickets import do_assign_ticket, do_change_priority
from tickets.models import TimelineEvent
from tickets.selectors import QueueFilters, ticket_list_for_agent

pytestmark = pytest.mark.django_db


def open_ticket(subject="Printer on fire", address="ana@example.com", **fields):
    """A ticket opened by an email; routed at once to the default team (tech)."""
    fields.setdefault("text", subject)
    record = deliver(message("email", ("email", address), subject=subject, **fields))
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def move(ticket, team, actor):
    ticket.refresh_from_db()
    do_reassign_ticket(ticket=ticket, to_team=team, actor=actor, reason="Theirs")
    ticket.refresh_from_db()
    return ticket


def row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="queue-ticket-(\d+)"', html)]


def test_home_is_the_queue(client, tech_agent):
    client.force_login(tech_agent)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/queue/"


def test_the_queue_needs_a_sign_in(client):
    response = client.get("/queue/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_an_agent_sees_their_teams_tickets_and_not_another_teams(
    client, teams, tech_agent, supervisor
):
    ours = open_ticket("Printer on fire", sender_name="Ana Lima")
    theirs = move(open_ticket("Refund", "bo@example.com"), teams["billing"], supervisor)
    client.force_login(tech_agent)

    page = client.get("/queue/").content.decode()

    assert row_ids(page) == [ours.pk]
    assert "Printer on fire" in page and "Ana Lima" in page
    assert "Technical support" in page and "unassigned" in page
    assert 'class="badge ch-email"' in page
    assert "Refund" not in page
    # A supervisor's queue holds every team's.
    client.force_login(supervisor)
    assert row_ids(client.get("/queue/").content.decode()) == [theirs.pk, ours.pk]


def test_a_row_shows_the_last_message_as_its_snippet(client, teams, tech_agent):
    first = deliver(message("email", text="My printer is on fire", subject="Fire"))
    deliver(
        message(
            "email",
            text="Now the desk is burning too",
            replies_to=(TimelineEvent.objects.get(pk=first.event_ids[0]).external_id,),
        )
    )
    client.force_login(tech_agent)
    page = client.get("/queue/").content.decode()
    assert "Now the desk is burning too" in page
    assert "My printer is on fire" not in page


def test_filters_narrow_the_queue(teams, tech_agent, supervisor):
    mail = open_ticket("Printer on fire")
    chat = deliver(
        message("whatsapp", ("whatsapp", "+14155552671"), text="Wifi is down")
    )
    chat = TimelineEvent.objects.get(pk=chat.event_ids[0]).ticket
    do_change_priority(ticket=chat, priority="urgent", actor=supervisor)
    do_assign_ticket(ticket=mail, assignee=tech_agent, actor=supervisor)
    billing = move(
        open_ticket("Refund", "bo@example.com"), teams["billing"], supervisor
    )

    def ids(agent=tech_agent, **filters):
        page = ticket_list_for_agent(agent=agent, filters=QueueFilters(**filters))
        return [ticket.pk for ticket in page.tickets]

    assert ids() == [chat.pk, mail.pk]
    assert ids(channel="whatsapp") == [chat.pk]
    assert ids(priority="urgent") == [chat.pk]
    assert ids(assignee="me") == [mail.pk]
    assert ids(assignee="none") == [chat.pk]
    assert ids(agent=supervisor, team=teams["billing"].pk) == [billing.pk]
    # An agent naming another team's id still sees only what they may see.
    assert ids(team=teams["billing"].pk) == []
    assert ids(status="pending") == []
    assert ids(status="new") == [chat.pk, mail.pk]


def test_resolved_tickets_leave_the_default_queue(teams, tech_agent):
    from tickets.actions.tickets import do_resolve_ticket

    done = open_ticket("Printer on fire")
    do_resolve_ticket(ticket=done, actor=tech_agent, resolution_note="Unplugged it.")
    waiting = open_ticket("Wifi down", "bo@example.com")

    def ids(**filters):
        page = ticket_list_for_agent(agent=tech_agent, filters=QueueFilters(**filters))
        return [ticket.pk for ticket in page.tickets]

    assert ids() == [waiting.pk]
    assert ids(status="resolved") == [done.pk]
    assert ids(status="all") == [waiting.pk, done.pk]


def test_search_finds_subjects_messages_and_customer_names(
    teams, tech_agent, on_postgres
):
    by_subject = open_ticket("Invoice duplicated", text="see subject")
    by_text = open_ticket(
        "Question", "bo@example.com", text="The router blinks orange all night"
    )
    by_name = open_ticket(
        "Hello", "cy@example.com", text="hi", sender_name="Cyrille Vandenberghe"
    )
    open_ticket("Unrelated", "di@example.com", text="nothing to see")

    def found(words):
        page = ticket_list_for_agent(
            agent=tech_agent, filters=QueueFilters(search=words)
        )
        return [ticket.pk for ticket in page.tickets]

    assert found("invoice") == [by_subject.pk]
    assert found("router orange") == [by_text.pk]
    assert found("vandenberghe") == [by_name.pk]
    assert found("router -orange") == []
    assert found("zeppelin") == []


def test_the_queue_pages_by_keyset(client, teams, tech_agent):
    tickets = [open_ticket(f"Issue {n}", f"c{n}@example.com") for n in range(5)]
    newest_first = [ticket.pk for ticket in reversed(tickets)]

    first = ticket_list_for_agent(agent=tech_agent, limit=2)
    assert [t.pk for t in first.tickets] == newest_first[:2]
    second = ticket_list_for_agent(agent=tech_agent, limit=2, cursor=first.next_cursor)
    assert [t.pk for t in second.tickets] == newest_first[2:4]
    third = ticket_list_for_agent(agent=tech_agent, limit=2, cursor=second.next_cursor)
    assert [t.pk for t in third.tickets] == newest_first[4:]
    assert third.next_cursor is None

    client.force_login(tech_agent)
    assert client.get("/queue/?cursor=nonsense").status_code == 404


def test_htmx_gets_only_the_rows(client, teams, tech_agent):
    ticket = open_ticket("Printer on fire")
    open_ticket("Wifi down", "bo@example.com")
    client.force_login(tech_agent)

    response = client.get("/queue/?q=printer&status=", headers={"HX-Request": "true"})

    html = response.content.decode()
    assert "<html" not in html and "<tbody" not in html
    assert row_ids(html) == [ticket.pk]


def test_one_row_is_served_while_it_belongs_to_the_queue(
    client, teams, tech_agent, billing_agent, supervisor
):
    ticket = open_ticket("Printer on fire")
    client.force_login(tech_agent)
    url = f"/queue/rows/{ticket.pk}/"

    response = client.get(url)
    assert response.status_code == 200
    assert row_ids(response.content.decode()) == [ticket.pk]
    # Not under the page's filters: the page drops the row.
    assert client.get(url + "?channel=whatsapp").status_code == 204
    client.force_login(billing_agent)
    assert client.get(url).status_code == 204
    move(ticket, teams["billing"], supervisor)
    assert client.get(url).status_code == 200
    client.force_login(tech_agent)
    assert client.get(url).status_code == 204


@pytest.mark.parametrize("agent_kind", ["agent", "supervisor"])
def test_the_queue_costs_the_same_queries_for_3_or_30_tickets(
    client, teams, tech_agent, supervisor, agent_kind
):
    viewer = tech_agent if agent_kind == "agent" else supervisor
    client.force_login(viewer)

    def queries_with(count: int) -> int:
        while len(ticket_list_for_agent(agent=viewer, limit=200).tickets) < count:
            n = len(ticket_list_for_agent(agent=viewer, limit=200).tickets)
            ticket = open_ticket(f"Issue {n}", f"c{n}@example.com", sender_name=f"C{n}")
            if n % 2:
                do_assign_ticket(ticket=ticket, assignee=tech_agent, actor=supervisor)
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/queue/")
        assert len(row_ids(response.content.decode())) == count
        return len(queries)

    assert queries_with(3) == queries_with(30)
