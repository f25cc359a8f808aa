import time

import pytest
from django.test import TestCase

from channels_app.models import Inbox
from tests.channels_app.meta_support import (
    ACCESS_TOKEN,
    PHONE_NUMBER_ID,
    VERSION,
    delivered,
    first_message,
    first_value,
    post_webhook,
    whatsapp_example,
)
from tests.helpers import deliver, message
from tests.provider_server import Reply
from tickets.actions.templates import do_send_template
from tickets.actions.tickets import TicketActionError, do_reply
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

MESSAGES_PATH = f"/{VERSION}/{PHONE_NUMBER_ID}/messages"


def accepted(wamid: str) -> Reply:
    return Reply(
        body={
            "messaging_product": "whatsapp",
            "contacts": [{"input": "972987654321", "wa_id": "972987654321"}],
            "messages": [{"id": wamid}],
        }
    )


def customer_writes(client, corpus_dir, *, hours_ago: float = 0.1) -> Ticket:
    payload = whatsapp_example(corpus_dir, "message", "text")
    first_message(payload)["timestamp"] = str(int(time.time() - hours_ago * 3600))
    record = delivered(client, "whatsapp", payload)
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def reply(ticket, agent, text="We are on it.") -> TimelineEvent:
    with TestCase.captureOnCommitCallbacks(execute=True):
        event = do_reply(ticket=ticket, author=agent, text=text)
    event.refresh_from_db()
    return event


def status_update(client, corpus_dir, wamid: str, status: str):
    payload = whatsapp_example(corpus_dir, "message_status", status)
    first_value(payload)["statuses"][0]["id"] = wamid
    return delivered(client, "whatsapp", payload)


@pytest.fixture
def ticket(client, corpus_dir, whatsapp_inbox, graph, teams) -> Ticket:
    graph.route("POST", MESSAGES_PATH, accepted("wamid.SENT1"))
    return customer_writes(client, corpus_dir)


# ------------------------------------------------------------------ replies


def test_a_reply_reaches_graph_and_its_wamid_becomes_the_event_id(
    ticket, graph, tech_agent
):
    event = reply(ticket, tech_agent, "Your parcel left today.")

    [request] = graph.requests
    assert (request.method, request.path) == ("POST", MESSAGES_PATH)
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "972987654321",
        "type": "text",
        "text": {"preview_url": False, "body": "Your parcel left today."},
    }
    assert (event.external_id, event.delivery_status) == ("wamid.SENT1", "sent")
    assert event.inbox == ticket.inbox


def test_a_refusal_from_graph_fails_the_reply_with_its_reason_at_once(
    ticket, graph, tech_agent
):
    graph.route(
        "POST",
        MESSAGES_PATH,
        Reply(
            status=400,
            body={
                "error": {
                    "message": "(#131030) Recipient phone number not in allowed list",
                    "type": "OAuthException",
                    "code": 131030,
                    "error_data": {
                        "messaging_product": "whatsapp",
                        "details": "Recipient phone number not in allowed list",
                    },
                }
            },
        ),
    )

    event = reply(ticket, tech_agent)

    assert event.delivery_status == "failed"
    assert "Recipient phone number not in allowed list" in event.delivery_error
    assert "131030" in event.delivery_error
    assert len(graph.requests) == 1


def test_a_passing_graph_outage_is_retried_until_the_reply_is_sent(
    ticket, graph, tech_agent, settings
):
    settings.OUTBOUND_RETRY_SECONDS = 0
    answers = [
        Reply(status=503, body={"error": {"message": "Service unavailable"}}),
        accepted("wamid.AFTER-RETRY"),
    ]
    graph.route("POST", MESSAGES_PATH, lambda request: answers.pop(0))

    event = reply(ticket, tech_agent)

    assert (event.delivery_status, event.external_id) == ("sent", "wamid.AFTER-RETRY")
    assert len(graph.requests) == 2


def test_a_reply_without_an_inbox_leaves_through_the_enabled_whatsapp_inbox(
    whatsapp_inbox, graph, tech_agent, teams
):
    graph.route("POST", MESSAGES_PATH, accepted("wamid.DEFAULT"))
    record = deliver(message("whatsapp", ("whatsapp", "972987654321"), text="Hi"))
    ticket = TimelineEvent.objects.get(pk=record.event_ids[0]).ticket
    assert ticket.inbox is None

    event = reply(ticket, tech_agent)

    assert (event.delivery_status, event.external_id) == ("sent", "wamid.DEFAULT")
    assert graph.requests[0].path == MESSAGES_PATH


def test_a_reply_with_no_whatsapp_inbox_at_all_fails_with_the_reason(
    graph, tech_agent, teams
):
    record = deliver(message("whatsapp", ("whatsapp", "972987654321"), text="Hi"))
    ticket = TimelineEvent.objects.get(pk=record.event_ids[0]).ticket
    assert not Inbox.objects.exists()

    event = reply(ticket, tech_agent)

    assert event.delivery_status == "failed"
    assert event.delivery_error == "no enabled whatsapp inbox to send from"
    assert graph.requests == []


# ----------------------------------------------------------------- statuses


def test_statuses_move_a_reply_forward_and_never_back(
    client, corpus_dir, ticket, tech_agent
):
    event = reply(ticket, tech_agent)

    seen = []
    for status in ("sent", "delivered", "read", "delivered", "sent"):
        record = status_update(client, corpus_dir, "wamid.SENT1", status)
        assert record.status == "processed", record.error
        event.refresh_from_db()
        seen.append(event.delivery_status)

    assert seen == ["sent", "delivered", "read", "read", "read"]
    assert [step["status"] for step in event.metadata["delivery"]] == [
        "delivered",
        "read",
    ]


def test_a_read_receipt_arriving_first_is_not_undone_by_a_late_delivery(
    client, corpus_dir, ticket, tech_agent
):
    event = reply(ticket, tech_agent)

    status_update(client, corpus_dir, "wamid.SENT1", "read")
    status_update(client, corpus_dir, "wamid.SENT1", "delivered")

    event.refresh_from_db()
    assert event.delivery_status == "read"


def test_a_played_voice_message_counts_as_read(client, corpus_dir, ticket, tech_agent):
    event = reply(ticket, tech_agent)

    status_update(client, corpus_dir, "wamid.SENT1", "played")

    event.refresh_from_db()
    assert event.delivery_status == "read"


def test_a_failed_status_shows_whatsapps_reason(client, corpus_dir, ticket, tech_agent):
    event = reply(ticket, tech_agent)

    status_update(client, corpus_dir, "wamid.SENT1", "failed")

    event.refresh_from_db()
    assert event.delivery_status == "failed"
    assert event.delivery_error == (
        "User's number is part of an experiment: Failed to send message because "
        "this user's phone number is part of an experiment (code 130472)"
    )


def test_a_duplicate_status_delivery_changes_nothing(
    client, corpus_dir, ticket, tech_agent
):
    event = reply(ticket, tech_agent)
    payload = whatsapp_example(corpus_dir, "message_status", "delivered")
    first_value(payload)["statuses"][0]["id"] = "wamid.SENT1"
    post_webhook(client, "whatsapp", payload)
    event.refresh_from_db()
    before = (event.delivery_status, event.metadata)

    again = post_webhook(client, "whatsapp", payload)

    event.refresh_from_db()
    assert again.json()["duplicate"] is True
    assert (event.delivery_status, event.metadata) == before


# ----------------------------------------------------- the 24-hour window


def test_outside_the_window_a_reply_is_refused_with_the_reason(
    client, corpus_dir, whatsapp_inbox, graph, teams, tech_agent
):
    ticket = customer_writes(client, corpus_dir, hours_ago=25)

    with pytest.raises(TicketActionError) as refused:
        reply(ticket, tech_agent)

    assert (
        str(refused.value) == "outside the 24-hour window: only a template can be sent"
    )
    assert not ticket.events.filter(kind="message_out").exists()
    assert graph.requests == []


def test_inside_the_window_a_reply_goes_out(
    client, corpus_dir, whatsapp_inbox, graph, teams, tech_agent
):
    graph.route("POST", MESSAGES_PATH, accepted("wamid.IN-TIME"))
    ticket = customer_writes(client, corpus_dir, hours_ago=23)

    assert reply(ticket, tech_agent).delivery_status == "sent"


def test_outside_the_window_a_template_can_be_sent(
    client, corpus_dir, whatsapp_inbox, graph, teams, tech_agent
):
    graph.route("POST", MESSAGES_PATH, accepted("wamid.TEMPLATE"))
    ticket = customer_writes(client, corpus_dir, hours_ago=72)

    with TestCase.captureOnCommitCallbacks(execute=True):
        event = do_send_template(
            ticket=ticket,
            author=tech_agent,
            template_name="order_update",
            language="en_US",
            parameters=["Ana", "#4411"],
        )

    event.refresh_from_db()
    [request] = graph.requests
    assert request.path == MESSAGES_PATH
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "972987654321",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Ana"},
                        {"type": "text", "text": "#4411"},
                    ],
                },
            ],
        },
    }
    assert (event.kind, event.delivery_status, event.external_id) == (
        "message_out",
        "sent",
        "wamid.TEMPLATE",
    )
    assert event.text == "Template order_update (en_US): Ana | #4411"
    assert event.metadata["template"] == {
        "name": "order_update",
        "language": "en_US",
        "parameters": ["Ana", "#4411"],
    }
