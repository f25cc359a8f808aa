"""POSTs on /api/v1/tickets/{id}/...: each calls the action the ticket page calls
and leaves the same rows behind (who may call them: test_tickets_access)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tests.factories import AgentFactory
from tests.helpers import deliver, message
from tests.tickets.api.conftest import ANA_EMAIL, ANA_WHATSAPP, opened
from tickets.models import RouteChange, Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


def post(client, ticket: Ticket, path: str, body, **extra):
    return client.post(f"{TICKETS}{ticket.pk}/{path}", body, format="json", **extra)


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("team", "assignee").get(pk=ticket.pk)


def events_of(ticket: Ticket, kind: str):
    return TimelineEvent.objects.filter(ticket=ticket, kind=kind).order_by("id")


# ------------------------------------------------------------- conversation


def test_a_reply_is_queued_then_leaves_by_mail(
    api_client, tech_agent, tech_ticket, django_capture_on_commit_callbacks
):
    client = api_client(tech_agent)

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, tech_ticket, "reply/", {"text": "Try the reset link."})

    assert response.status_code == 201
    body = response.json()
    [reply] = events_of(tech_ticket, TimelineEvent.Kind.MESSAGE_OUT)
    assert body["id"] == reply.pk
    assert (body["kind"], body["channel"], body["author"]["id"]) == (
        "message_out",
        "email",
        tech_agent.pk,
    )
    assert (reply.author, reply.text) == (tech_agent, "Try the reset link.")
    [sent] = mail.outbox
    assert sent.to == ["ana@example.com"] and "Try the reset link." in sent.body
    ticket = fresh(tech_ticket)
    assert ticket.status == "open" and ticket.first_response_at is not None


def test_a_reply_written_before_new_messages_is_held_then_sent(
    api_client, tech_agent, tech_ticket
):
    """As on the page: Ana writes while the agent types; the reply is held with
    her new message, and sent when posted again with the newer version."""
    client = api_client(tech_agent)
    seen = client.get(f"{TICKETS}{tech_ticket.pk}/").json()["latest_event_id"]
    deliver(
        message(
            "email",
            ANA_EMAIL,
            replies_to=("<login@ana.example>",),
            text="Never mind, it works now.",
        )
    )
    draft = {"text": "Try the reset link.", "seen_event_id": seen}

    held = post(client, tech_ticket, "reply/", draft)

    assert held.status_code == 409
    error = held.json()["error"]
    assert error["code"] == "conflict"
    assert [e["text"] for e in error["newer_events"]] == ["Never mind, it works now."]
    assert error["latest_event_id"] > seen
    assert not events_of(tech_ticket, TimelineEvent.Kind.MESSAGE_OUT).exists()

    sent = post(
        client,
        tech_ticket,
        "reply/",
        {**draft, "seen_event_id": error["latest_event_id"]},
    )

    assert sent.status_code == 201
    assert events_of(tech_ticket, TimelineEvent.Kind.MESSAGE_OUT).count() == 1


def test_a_reply_on_a_channel_the_customer_cannot_be_reached_on_is_refused(
    api_client, tech_agent, tech_ticket
):
    client = api_client(tech_agent)

    telegram = post(
        client, tech_ticket, "reply/", {"text": "Hi", "channel": "telegram"}
    )
    # A call is logged, never sent.
    phone = post(client, tech_ticket, "reply/", {"text": "Hi", "channel": "phone"})

    for response in (telegram, phone):
        assert response.status_code == 400
        assert "channel" in response.json()["error"]["fields"]
    assert telegram.json()["error"]["fields"]["channel"] == [
        "A reply cannot reach the customer on telegram; offered: email, whatsapp, sms."
    ]
    assert not events_of(tech_ticket, TimelineEvent.Kind.MESSAGE_OUT).exists()


def test_outside_whatsapps_window_only_a_template_goes(api_client, tech_agent, teams):
    ticket = opened(
        message(
            "whatsapp",
            ANA_WHATSAPP,
            text="Where is my parcel?",
            occurred_at=timezone.now() - timedelta(hours=30),
        )
    )
    client = api_client(tech_agent)

    refused = post(client, ticket, "reply/", {"text": "It ships today."})
    sent = post(
        client,
        ticket,
        "template/",
        {
            "template_name": "order_update",
            "language": "en_US",
            "parameters": ["Ana", "shipped today"],
        },
    )

    assert refused.status_code == 400
    assert "24-hour window" in refused.json()["error"]["message"]
    assert sent.status_code == 201
    [event] = events_of(ticket, TimelineEvent.Kind.MESSAGE_OUT)
    assert event.metadata["template"]["name"] == "order_update"
    assert event.metadata["template"]["parameters"] == ["Ana", "shipped today"]


def test_an_empty_reply_is_the_actions_400(api_client, tech_agent, tech_ticket):
    response = post(api_client(tech_agent), tech_ticket, "reply/", {"text": "  "})

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "non_field_errors: A reply needs some text.",
            "fields": {"non_field_errors": ["A reply needs some text."]},
        }
    }
    assert not events_of(tech_ticket, TimelineEvent.Kind.MESSAGE_OUT).exists()


def test_a_note_stays_inside_the_desk(
    api_client, tech_agent, tech_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api_client(tech_agent), tech_ticket, "notes/", {"text": "Ana is a VIP."}
        )

    assert response.status_code == 201
    [note] = events_of(tech_ticket, TimelineEvent.Kind.NOTE)
    assert (note.author, note.text, note.channel) == (
        tech_agent,
        "Ana is a VIP.",
        "internal",
    )
    assert response.json()["direction"] == "internal"
    assert mail.outbox == []


def test_a_call_is_logged_on_the_ticket(api_client, tech_agent, tech_ticket):
    response = post(
        api_client(tech_agent),
        tech_ticket,
        "calls/",
        {
            "direction": "outbound",
            "number": "+1 415 555 2671",
            "duration_seconds": 192,
            "outcome": "answered",
            "note": "Walked her through the reset.",
        },
    )

    assert response.status_code == 201
    [call] = events_of(tech_ticket, TimelineEvent.Kind.CALL)
    assert call.metadata["number"] == "+14155552671"
    assert call.metadata["duration_seconds"] == 192
    assert "Walked her through the reset." in call.text
    assert call.customer_id == tech_ticket.customer_id
    assert fresh(tech_ticket).status == "open"
    bad = post(
        api_client(tech_agent),
        tech_ticket,
        "calls/",
        {
            "direction": "sideways",
            "number": "12",
            "duration_seconds": -1,
            "outcome": "answered",
        },
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {
        "direction",
        "number",
        "duration_seconds",
    }


# ------------------------------------------------------------------ changes


def test_status_priority_and_resolve_change_the_ticket_with_their_events(
    api_client, tech_agent, tech_ticket
):
    client = api_client(tech_agent)

    pending = post(client, tech_ticket, "status/", {"status": "pending"})
    urgent = post(client, tech_ticket, "priority/", {"priority": "urgent"})
    resolved = post(
        client, tech_ticket, "resolve/", {"resolution_note": "Reset the password."}
    )

    assert (pending.status_code, pending.json()["status"]) == (200, "pending")
    assert (urgent.status_code, urgent.json()["priority"]) == (200, "urgent")
    assert resolved.status_code == 200
    assert resolved.json()["resolution_note"] == "Reset the password."
    ticket = fresh(tech_ticket)
    assert (ticket.status, ticket.priority) == ("resolved", "urgent")
    assert ticket.resolved_at is not None
    changes = events_of(tech_ticket, TimelineEvent.Kind.STATUS_CHANGE)
    assert [(e.metadata["from"], e.metadata["to"], e.author) for e in changes] == [
        ("new", "pending", tech_agent),
        ("pending", "resolved", tech_agent),
    ]
    assert changes.last().text.endswith("Resolution: Reset the password.")
    [priority] = events_of(tech_ticket, TimelineEvent.Kind.SYSTEM)
    assert priority.metadata == {"priority_from": "normal", "priority_to": "urgent"}


def test_resolving_takes_a_note_and_the_status_endpoint_does_not_resolve(
    api_client, tech_agent, tech_ticket
):
    client = api_client(tech_agent)

    by_status = post(client, tech_ticket, "status/", {"status": "resolved"})
    blank = post(client, tech_ticket, "resolve/", {"resolution_note": "   "})
    missing = post(client, tech_ticket, "resolve/", {})

    assert by_status.status_code == 400
    assert "resolve" in by_status.json()["error"]["fields"]["status"][0]
    assert blank.status_code == 400 and missing.status_code == 400
    assert missing.json()["error"]["fields"]["resolution_note"]
    assert fresh(tech_ticket).status == "new"


def test_assigning_follows_the_pages_rule(
    api_client, tech_agent, teams, billing_agent, tech_ticket
):
    """A teammate of the owning team takes it, null gives it back; an agent of
    another team is refused (moving it there is a supervisor's hand-over)."""
    tess = AgentFactory(username="tess", teams=[teams["tech"]])
    client = api_client(tech_agent)

    given = post(client, tech_ticket, "assign/", {"assignee": tess.pk})
    outsider = post(client, tech_ticket, "assign/", {"assignee": billing_agent.pk})

    assert given.status_code == 200 and given.json()["assignee"]["id"] == tess.pk
    assert outsider.status_code == 400
    assert outsider.json()["error"]["message"].endswith(
        "Only an agent of the owning team can take it."
    )
    assert fresh(tech_ticket).assignee == tess
    back = post(client, tech_ticket, "assign/", {"assignee": None})
    assert back.status_code == 200 and back.json()["assignee"] is None
    assert [e.metadata for e in events_of(tech_ticket, TimelineEvent.Kind.SYSTEM)] == [
        {"assignee_id": tess.pk},
        {"assignee_id": None},
    ]


def test_a_supervisor_hands_a_ticket_to_another_team_with_a_reason(
    api_client, supervisor, teams, tech_ticket
):
    sara = AgentFactory(username="sara", teams=[teams["sales"]])

    response = post(
        api_client(supervisor),
        tech_ticket,
        "reassign/",
        {"team": teams["sales"].pk, "reason": "A sales question", "assignee": sara.pk},
    )

    assert response.status_code == 200
    assert response.json()["team"]["slug"] == "sales"
    assert response.json()["assignee"]["id"] == sara.pk
    change = RouteChange.objects.filter(ticket=tech_ticket).latest("id")
    assert (change.from_team, change.to_team, change.actor, change.reason) == (
        teams["tech"],
        teams["sales"],
        supervisor,
        "A sales question",
    )
    [moved] = events_of(tech_ticket, TimelineEvent.Kind.ROUTE_CHANGE).filter(
        metadata__route_change_id=change.pk
    )
    assert moved.author == supervisor


def test_a_move_without_a_reason_is_refused_and_changes_nothing(
    api_client, supervisor, teams, tech_ticket
):
    before = RouteChange.objects.count()

    response = post(
        api_client(supervisor), tech_ticket, "reassign/", {"team": teams["sales"].pk}
    )

    assert response.status_code == 400
    assert "reason" in response.json()["error"]["message"]
    assert RouteChange.objects.count() == before
    assert fresh(tech_ticket).team == teams["tech"]


def test_an_agent_cannot_reassign_even_their_own_teams_ticket(
    api_client, tech_agent, teams, tech_ticket
):
    response = post(
        api_client(tech_agent),
        tech_ticket,
        "reassign/",
        {"team": teams["sales"].pk, "reason": "Not ours"},
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert fresh(tech_ticket).team == teams["tech"]
