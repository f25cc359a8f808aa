"""The ticket page: one customer's whole timeline beside the ticket, and every way
an agent acts on it, each through one action."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import AgentFactory
from tests.helpers import deliver, message
from tickets.actions.tickets import do_resolve_ticket
from tickets.inbound import InboundAttachment
from tickets.models import Ticket, TicketStatus, TimelineEvent

pytestmark = pytest.mark.django_db

ANA_EMAIL = ("email", "ana@example.com")
ANA_WHATSAPP = ("whatsapp", "14155552671")
ANA_TELEGRAM = ("telegram", "5550001")
HTMX = {"HTTP_HX_REQUEST": "true"}


def opened(msg) -> Ticket:
    record = deliver(msg)
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


@pytest.fixture
def earlier(teams, tech_agent) -> Ticket:
    """Ana's WhatsApp ticket about a double charge, resolved with a refund."""
    ticket = opened(
        message(
            "whatsapp",
            ANA_WHATSAPP,
            ANA_EMAIL,
            sender_name="Ana Silva",
            text="My card was charged twice",
        )
    )
    do_resolve_ticket(
        ticket=ticket,
        actor=tech_agent,
        resolution_note="Refunded the duplicate charge.",
    )
    return ticket


@pytest.fixture
def ticket(earlier) -> Ticket:
    """Ana writes on Telegram, then opens this ticket by mail."""
    deliver(message("telegram", ANA_TELEGRAM, ANA_EMAIL, text="Hello from Telegram"))
    return opened(
        message(
            "email",
            ANA_EMAIL,
            external_id="<login@ana.example>",
            sender_name="Ana Silva",
            subject="Login fails",
            text="I cannot log in since this morning.",
        )
    )


@pytest.fixture
def agent_client(client, tech_agent):
    client.force_login(tech_agent)
    return client


def page(client, ticket):
    response = client.get(f"/tickets/{ticket.pk}/")
    assert response.status_code == 200
    return response


def post(client, ticket, action: str, data: dict, *, capture=None):
    url = f"/tickets/{ticket.pk}/{action}/"
    if capture is None:
        return client.post(url, data, **HTMX)
    with capture(execute=True):
        return client.post(url, data, **HTMX)


# ------------------------------------------------------------------- the page


def test_the_page_shows_every_identity_every_channel_and_the_earlier_fix(
    agent_client, ticket, earlier
):
    """The header names every way to reach Ana; the timeline holds her messages
    on WhatsApp, Telegram and email; the side panel says how the double charge was
    fixed."""
    html = page(agent_client, ticket).content.decode()

    for kind, value in [
        ("Email", "ana@example.com"),
        ("WhatsApp", "+14155552671"),
        ("Telegram", "5550001"),
        ("Phone", "+14155552671"),
    ]:
        assert f">{kind}</span> {value}" in html
    assert "I cannot log in since this morning." in html
    assert "Hello from Telegram" in html
    assert "My card was charged twice" in html
    for channel in ("whatsapp", "telegram", "email"):
        assert f'class="badge ch-{channel}"' in html
    assert f'<article class="card earlier-ticket" id="ticket-{earlier.pk}">' in html
    assert "How it was fixed:</span> Refunded the duplicate charge." in html
    assert "(this ticket)" in html


def test_the_reply_defaults_to_the_channel_of_the_last_inbound_message(
    agent_client, ticket
):
    """Ana last wrote by mail: the reply goes by mail unless the agent picks
    another of her channels (a call is logged, never sent)."""
    response = page(agent_client, ticket)

    assert response.context["channel"] == "email"
    offered = [c.value for c in response.context["channels"]]
    assert set(offered) == {"email", "whatsapp", "telegram", "sms"}


# Every POST door of the ticket page, each with a valid form.
ACTIONS = {
    "reply": {"channel": "email", "text": "hi"},
    "template": {"channel": "whatsapp", "template_name": "hello", "language": "en"},
    "note": {"text": "hi"},
    "call": {"direction": "inbound", "number": "+14155552671", "duration": "60"},
    "status": {"status": "pending"},
    "priority": {"priority": "urgent"},
    "assign": {"assignee": "me"},
    "resolve": {"resolution_note": "Fixed."},
}


def test_an_agent_of_another_team_gets_a_404_everywhere(client, ticket, teams):
    """The page, its partials and every action answer 404 and change nothing."""
    client.force_login(AgentFactory(username="bo", teams=[teams["billing"]]))
    events_before = ticket.events.count()

    for part in ("", "timeline/", "timeline/?after=0", "header/"):
        response = client.get(f"/tickets/{ticket.pk}/{part}", **HTMX)
        assert response.status_code == 404, part
    for action, data in ACTIONS.items():
        assert post(client, ticket, action, data).status_code == 404, action
    assert client.get(f"/queue/rows/{ticket.pk}/").status_code == 204

    assert ticket.events.count() == events_before
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert (fresh.status, fresh.priority, fresh.assignee_id) == (
        ticket.status,
        ticket.priority,
        ticket.assignee_id,
    )


def test_anonymous_visitors_are_sent_to_sign_in(client, ticket):
    response = client.get(f"/tickets/{ticket.pk}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert post(client, ticket, "reply", {"text": "x"}).status_code == 302


def test_older_history_loads_by_cursor_as_the_agent_scrolls(
    agent_client, ticket, settings
):
    """The first page holds the newest events; each "revealed" sentinel fetches
    the next page, until the customer's first message."""
    settings.TIMELINE_PAGE_SIZE = 2
    first = page(agent_client, ticket)
    shown = [e.pk for e in first.context["page"].events]
    cursor = first.context["page"].next_cursor
    assert 'hx-trigger="revealed"' in first.content.decode()
    assert f"/tickets/{ticket.pk}/timeline/?cursor={cursor}" in first.content.decode()
    assert "My card was charged twice" not in "".join(
        e.text for e in first.context["page"].events
    )

    older_html = ""
    while cursor:
        older = agent_client.get(f"/tickets/{ticket.pk}/timeline/", {"cursor": cursor})
        assert len(older.context["events"]) <= 2
        shown += [e.pk for e in older.context["events"]]
        older_html += older.content.decode()
        cursor = older.context["next_cursor"]

    assert len(shown) == len(set(shown)) == ticket.customer.timeline.count()
    assert "My card was charged twice" in older_html
    forged = agent_client.get(f"/tickets/{ticket.pk}/timeline/", {"cursor": "Zm9v"})
    assert forged.status_code == 404


def test_newer_events_are_fetched_after_the_last_one_seen(agent_client, ticket):
    seen = page(agent_client, ticket).context["seen_event_id"]
    deliver(message("telegram", ANA_TELEGRAM, text="One more thing"))

    newer = agent_client.get(f"/tickets/{ticket.pk}/timeline/", {"after": seen})

    assert [e.text for e in newer.context["events"]] == ["One more thing"]


def test_the_page_costs_the_same_queries_for_3_or_30_events_and_tickets(
    client, supervisor, teams
):
    def customer_with(count: int, email: str) -> Ticket:
        for n in range(count):
            attachment = InboundAttachment(f"shot-{n}.png", "image/png", b"png")
            deliver(
                message(
                    "email",
                    ("email", email),
                    subject=f"Question {n}",
                    attachments=(attachment,) * (n % 2),
                )
            )
        return Ticket.objects.filter(customer__identities__value=email).first()

    small, large = (
        customer_with(3, "few@example.com"),
        customer_with(30, "many@example.com"),
    )
    client.force_login(supervisor)

    def count(ticket: Ticket) -> int:
        with CaptureQueriesContext(connection) as queries:
            page(client, ticket)
        return len(queries)

    assert count(small) == count(large)


def test_attachments_show_with_their_event(agent_client, ticket):
    deliver(
        message(
            "email",
            ANA_EMAIL,
            replies_to=("<login@ana.example>",),
            text="Here is the error.",
            attachments=(InboundAttachment("error.png", "image/png", b"x" * 2048),),
        )
    )

    html = page(agent_client, ticket).content.decode()

    assert "error.png" in html and "image/png · 2.0 KB" in html


def test_customer_text_is_escaped(agent_client, teams, tech_agent):
    ticket = opened(message("chat", ANA_EMAIL, text="<script>alert(1)</script>"))

    html = page(agent_client, ticket).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --------------------------------------------------------------------- acting


def test_a_reply_by_email_is_queued_and_leaves_by_mail(
    agent_client, ticket, tech_agent, django_capture_on_commit_callbacks
):
    seen = page(agent_client, ticket).context["seen_event_id"]

    response = post(
        agent_client,
        ticket,
        "reply",
        {"channel": "email", "text": "Try the reset link.", "seen_event_id": seen},
        capture=django_capture_on_commit_callbacks,
    )

    assert response.status_code == 200
    assert "Reply queued on Email." in response.content.decode()
    assert response["HX-Trigger"] == "desk:timeline-changed"
    reply = ticket.events.get(kind=TimelineEvent.Kind.MESSAGE_OUT)
    assert (reply.channel, reply.author, reply.text) == (
        "email",
        tech_agent,
        "Try the reset link.",
    )
    [sent] = mail.outbox
    assert sent.to == ["ana@example.com"] and "Try the reset link." in sent.body
    html = page(agent_client, ticket).content.decode()
    assert "Try the reset link." in html
    reply.refresh_from_db()
    assert f">{reply.get_delivery_status_display()}</span>" in html


def test_a_reply_lands_queued_before_the_send_task_runs(agent_client, ticket):
    seen = page(agent_client, ticket).context["seen_event_id"]

    post(
        agent_client,
        ticket,
        "reply",
        {"channel": "email", "text": "On it.", "seen_event_id": seen},
    )

    reply = ticket.events.get(kind=TimelineEvent.Kind.MESSAGE_OUT)
    assert reply.delivery_status == TimelineEvent.Delivery.QUEUED
    assert mail.outbox == []
    assert ">Queued</span>" in page(agent_client, ticket).content.decode()


def test_an_empty_reply_is_refused_inline(agent_client, ticket):
    response = post(agent_client, ticket, "reply", {"channel": "email", "text": " "})

    assert response.status_code == 422
    assert "Write a reply first." in response.content.decode()
    assert not ticket.events.filter(kind=TimelineEvent.Kind.MESSAGE_OUT).exists()


def test_a_reply_composed_against_an_older_ticket_is_stopped_then_confirmed(
    agent_client, ticket, django_capture_on_commit_callbacks
):
    """Ana writes again while the agent types: the reply is held and her new
    message shown; sending again, now having seen it, sends."""
    seen = page(agent_client, ticket).context["seen_event_id"]
    deliver(
        message(
            "email",
            ANA_EMAIL,
            replies_to=("<login@ana.example>",),
            subject="Re: Login fails",
            text="Never mind, it works now.",
        )
    )
    draft = {"channel": "email", "text": "Try the reset link.", "seen_event_id": seen}

    stopped = post(agent_client, ticket, "reply", draft)

    assert stopped.status_code == 409
    html = stopped.content.decode()
    assert "Never mind, it works now." in html
    assert "Send anyway" in html and "Try the reset link." in html
    assert not ticket.events.filter(kind=TimelineEvent.Kind.MESSAGE_OUT).exists()
    newer_seen = stopped.context["seen_event_id"]
    assert newer_seen > seen
    assert f'name="seen_event_id" value="{newer_seen}"' in html

    sent = post(
        agent_client,
        ticket,
        "reply",
        {**draft, "seen_event_id": newer_seen},
        capture=django_capture_on_commit_callbacks,
    )

    assert sent.status_code == 200
    assert ticket.events.filter(kind=TimelineEvent.Kind.MESSAGE_OUT).count() == 1
    assert len(mail.outbox) == 1


def test_a_teammates_reply_also_stops_a_stale_reply(agent_client, ticket, teams):
    from tickets.actions.tickets import do_reply

    seen = page(agent_client, ticket).context["seen_event_id"]
    tess = AgentFactory(username="tess", teams=[teams["tech"]])
    do_reply(ticket=ticket, author=tess, text="Reset your password here.")

    stopped = post(
        agent_client,
        ticket,
        "reply",
        {"channel": "email", "text": "Same advice.", "seen_event_id": seen},
    )

    assert stopped.status_code == 409
    assert "Reset your password here." in stopped.content.decode()
    assert ticket.events.filter(kind=TimelineEvent.Kind.MESSAGE_OUT).count() == 1


def test_a_whatsapp_reply_outside_the_24_hours_shows_the_window_and_templates(
    agent_client, teams
):
    ticket = opened(
        message(
            "whatsapp",
            ANA_WHATSAPP,
            text="Where is my parcel?",
            occurred_at=timezone.now() - timedelta(hours=30),
        )
    )
    seen = page(agent_client, ticket).context["seen_event_id"]

    refused = post(
        agent_client,
        ticket,
        "reply",
        {"channel": "whatsapp", "text": "It ships today.", "seen_event_id": seen},
    )

    html = refused.content.decode()
    assert refused.status_code == 422
    assert "Outside the 24-hour window: only a template can be sent." in html
    assert "Send template" in html
    assert not ticket.events.filter(kind=TimelineEvent.Kind.MESSAGE_OUT).exists()

    sent = post(
        agent_client,
        ticket,
        "template",
        {
            "channel": "whatsapp",
            "template_name": "order_update",
            "language": "en_US",
            "parameters": "Ana\nshipped today",
        },
    )

    assert sent.status_code == 200
    event = ticket.events.get(kind=TimelineEvent.Kind.MESSAGE_OUT)
    assert event.metadata["template"] == {
        "name": "order_update",
        "language": "en_US",
        "parameters": ["Ana", "shipped today"],
    }


def test_a_template_the_action_refuses_comes_back_with_the_reason(agent_client, teams):
    ticket = opened(
        message(
            "whatsapp",
            ANA_WHATSAPP,
            text="Where is my parcel?",
            occurred_at=timezone.now() - timedelta(hours=30),
        )
    )

    refused = post(
        agent_client,
        ticket,
        "template",
        {"channel": "whatsapp", "template_name": "order_update", "language": "x y"},
    )

    html = refused.content.decode()
    assert refused.status_code == 422
    assert "is not a language code like en_US." in html
    assert 'value="order_update"' in html
    assert not ticket.events.filter(kind=TimelineEvent.Kind.MESSAGE_OUT).exists()


def test_a_note_stays_inside_the_desk_and_looks_like_one(agent_client, ticket):
    response = post(agent_client, ticket, "note", {"text": "Customer is a VIP."})

    assert response.status_code == 200
    note = ticket.events.get(kind=TimelineEvent.Kind.NOTE)
    assert note.text == "Customer is a VIP."
    assert mail.outbox == []
    html = page(agent_client, ticket).content.decode()
    assert 'class="event kind-note' in html
    assert "Internal note · never sent" in html
    assert post(agent_client, ticket, "note", {"text": ""}).status_code == 422


def test_status_and_priority_change_through_the_header(agent_client, ticket):
    status = post(agent_client, ticket, "status", {"status": "pending"})
    priority = post(agent_client, ticket, "priority", {"priority": "urgent"})

    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("pending", "urgent")
    assert ">Pending</span>" in status.content.decode()
    assert "Urgent priority" in priority.content.decode()
    texts = list(ticket.events.values_list("text", flat=True))
    assert "Status new → pending." in texts
    assert "Priority normal → urgent." in texts
    bad = post(agent_client, ticket, "priority", {"priority": "whenever"})
    assert bad.status_code == 422 and 'role="alert"' in bad.content.decode()


def test_agents_assign_to_themselves_or_a_teammate_only(
    agent_client, ticket, tech_agent, teams
):
    tess = AgentFactory(username="tess", teams=[teams["tech"]])
    outsider = AgentFactory(username="bo", teams=[teams["billing"]])

    post(agent_client, ticket, "assign", {"assignee": "me"})
    ticket.refresh_from_db()
    assert ticket.assignee == tech_agent

    post(agent_client, ticket, "assign", {"assignee": str(tess.pk)})
    ticket.refresh_from_db()
    assert ticket.assignee == tess

    refused = post(agent_client, ticket, "assign", {"assignee": str(outsider.pk)})
    ticket.refresh_from_db()
    assert refused.status_code == 422
    assert "Only an agent of the owning team can take it." in refused.content.decode()
    assert ticket.assignee == tess

    post(agent_client, ticket, "assign", {"assignee": ""})
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_resolving_without_a_note_is_refused_and_with_one_resolves(
    agent_client, ticket
):
    refused = post(agent_client, ticket, "resolve", {"resolution_note": "  "})

    assert refused.status_code == 422
    assert "A resolution note is required" in refused.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW

    resolved = post(
        agent_client, ticket, "resolve", {"resolution_note": "Cleared the lockout."}
    )

    assert resolved.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolution_note) == (
        "resolved",
        "Cleared the lockout.",
    )
    # The header comes back out of band with the new status.
    assert 'hx-swap-oob="outerHTML"' in resolved.content.decode()


def test_a_call_logged_on_the_page_goes_on_this_ticket(agent_client, ticket):
    response = post(
        agent_client,
        ticket,
        "call",
        {
            "direction": "outbound",
            "number": "+14155552671",
            "duration": "3:12",
            "outcome": "answered",
            "note": "Walked her through the reset.",
        },
    )

    assert response.status_code == 200
    call = ticket.events.get(kind=TimelineEvent.Kind.CALL)
    assert call.metadata["duration_seconds"] == 192
    assert "Walked her through the reset." in call.text
    bad = post(agent_client, ticket, "call", {"direction": "outbound", "number": "x"})
    assert bad.status_code == 422


def test_a_plain_form_post_goes_back_to_the_page(agent_client, ticket):
    response = agent_client.post(f"/tickets/{ticket.pk}/note/", {"text": "Plain."})

    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.pk}/"


def test_every_post_needs_the_csrf_token(ticket, tech_agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tech_agent)
    url = f"/tickets/{ticket.pk}/note/"

    for action, data in ACTIONS.items():
        response = client.post(f"/tickets/{ticket.pk}/{action}/", data, **HTMX)
        assert response.status_code == 403, action
    refused = client.post(url, {"text": "No token."}, **HTMX)
    client.get(f"/tickets/{ticket.pk}/")
    token = client.cookies["csrftoken"].value
    accepted = client.post(url, {"text": "With token."}, HTTP_X_CSRFTOKEN=token, **HTMX)

    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert list(ticket.events.filter(kind="note").values_list("text", flat=True)) == [
        "With token."
    ]
