import pytest
from django.test import TestCase

from channels_app.ingest import process_inbound
from channels_app.models import InboundRecord
from customers.models import Customer
from tests.channels_app.twilio_support import (
    ACCOUNT_SID,
    CUSTOMER,
    DESK_NUMBER,
    accepted,
    post_signed,
)
from tests.helpers import deliver, message
from tickets.actions.tickets import do_reply
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

PATH = "/webhooks/twilio-voice/calls/"
RECORDING = (
    f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE0001"
)


def call_status(sid: str = "CA0001", status: str = "completed", **extra) -> dict:
    return {
        "CallSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": CUSTOMER,
        "To": DESK_NUMBER,
        "Direction": "inbound",
        "CallStatus": status,
        "ApiVersion": "2010-04-01",
        "Timestamp": "Sun, 22 Nov 2026 10:15:00 +0000",
        **extra,
    }


def recording_status(sid: str = "CA0001", state: str = "completed") -> dict:
    return {
        "CallSid": sid,
        "AccountSid": ACCOUNT_SID,
        "RecordingSid": "RE0001",
        "RecordingUrl": RECORDING,
        "RecordingStatus": state,
        "RecordingDuration": "190",
        "RecordingChannels": "1",
    }


def the_call(sid: str = "CA0001") -> TimelineEvent:
    return TimelineEvent.objects.get(channel="phone", external_id=sid)


def test_a_missed_call_lands_on_the_callers_timeline(client, voice_inbox, teams):
    record = accepted(client, PATH, call_status(status="no-answer"))

    record.refresh_from_db()
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    call = the_call()
    assert (call.kind, call.text) == ("call", "Missed call")
    assert call.metadata | {"replies_to": []} == {
        "source": "twilio",
        "call_sid": "CA0001",
        "direction": "inbound",
        "outcome": "missed",
        "duration_seconds": 0,
        "recording_url": "",
        "from": CUSTOMER,
        "to": DESK_NUMBER,
        "replies_to": [],
    }
    assert call.occurred_at.isoformat() == "2026-11-22T10:15:00+00:00"
    assert call.customer.identities.get().value == CUSTOMER
    assert call.ticket.channel == "phone"
    assert call.ticket.subject == f"Call from {CUSTOMER}"


def test_an_answered_call_shows_its_duration_and_recording(client, voice_inbox, teams):
    accepted(
        client,
        PATH,
        call_status(CallDuration="192", RecordingUrl=RECORDING, RecordingSid="RE0001"),
    )

    call = the_call()
    assert call.text == f"Answered call, 3 min 12 s\nRecording: {RECORDING}"
    assert call.metadata["outcome"] == "answered"
    assert call.metadata["duration_seconds"] == 192
    assert call.metadata["recording_url"] == RECORDING


@pytest.mark.parametrize(
    "status, words",
    [
        ("busy", "Call while the line was busy"),
        ("failed", "Failed call"),
        ("canceled", "Missed call"),
    ],
)
def test_every_final_status_becomes_a_call(client, voice_inbox, teams, status, words):
    accepted(client, PATH, call_status(status=status))

    assert the_call().text == words


def test_the_customer_of_an_outbound_call_is_the_number_called(
    client, voice_inbox, teams
):
    params = call_status(
        status="completed",
        CallDuration="45",
        Direction="outbound-api",
        From=DESK_NUMBER,
        To=CUSTOMER,
    )

    accepted(client, PATH, params)

    call = the_call()
    assert call.text == "Outbound call, answered, 45 s"
    assert call.metadata["direction"] == "outbound"
    assert call.customer.identities.get(kind="phone").value == CUSTOMER
    assert call.ticket.subject == f"Call to {CUSTOMER}"


def test_a_call_still_ringing_is_stored_and_adds_nothing(client, voice_inbox, teams):
    record = accepted(client, PATH, call_status(status="ringing"))

    record.refresh_from_db()
    assert record.status == InboundRecord.Status.PROCESSED
    assert not TimelineEvent.objects.exists()


def test_repeated_callbacks_for_one_call_make_one_event(client, voice_inbox, teams):
    accepted(client, PATH, call_status(status="no-answer"))
    again = post_signed(client, PATH, call_status(status="no-answer"))

    assert again.json()["duplicate"] is True
    assert TimelineEvent.objects.filter(kind="call").count() == 1


def test_a_recording_reported_later_is_added_to_its_call(client, voice_inbox, teams):
    accepted(client, PATH, call_status(CallDuration="192"))

    accepted(client, PATH, recording_status())

    call = the_call()
    assert call.text == f"Answered call, 3 min 12 s\nRecording: {RECORDING}"
    assert call.metadata["recording_url"] == RECORDING
    assert call.metadata["recordings"][0] | {"at": None} == {
        "id": "RE0001",
        "url": RECORDING,
        "duration_seconds": 190,
        "at": None,
    }
    assert TimelineEvent.objects.filter(kind="call").count() == 1


def test_the_same_recording_twice_changes_nothing(client, voice_inbox, teams):
    accepted(client, PATH, call_status(CallDuration="192"))
    accepted(client, PATH, recording_status())
    first = the_call()

    # The completed callback retried, now naming the recording too.
    accepted(
        client,
        PATH,
        call_status(CallDuration="192", RecordingUrl=RECORDING, RecordingSid="RE0001"),
    )

    call = the_call()
    assert (call.text, call.metadata) == (first.text, first.metadata)


def test_a_recording_before_its_call_fails_visibly_and_replays(
    client, voice_inbox, teams
):
    early = accepted(client, PATH, recording_status())
    early.refresh_from_db()
    assert early.status == InboundRecord.Status.FAILED
    assert "no call CA0001 on the timeline" in early.error

    accepted(client, PATH, call_status(CallDuration="60"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        replayed = process_inbound(early.pk, replay=True)

    assert replayed.status == InboundRecord.Status.PROCESSED
    assert the_call().metadata["recording_url"] == RECORDING


def test_a_recording_that_failed_adds_nothing(client, voice_inbox, teams):
    accepted(client, PATH, call_status(CallDuration="60"))

    accepted(client, PATH, recording_status(state="failed"))

    assert (
        "recording_url" not in the_call().metadata
        or not (the_call().metadata["recording_url"])
    )
    assert "Recording" not in the_call().text


def test_a_badly_signed_callback_is_refused(client, voice_inbox):
    response = post_signed(
        client, PATH, call_status(), signed_params=call_status(CallDuration="9")
    )

    assert response.status_code == 403
    assert not InboundRecord.objects.exists()


def test_a_call_from_a_number_that_texted_joins_the_same_customer(
    client, voice_inbox, teams
):
    deliver(message("sms", ("sms", CUSTOMER), text="Can you call me?"))

    accepted(client, PATH, call_status(status="completed", CallDuration="30"))

    assert Customer.objects.count() == 1
    touchpoints = Customer.objects.get().timeline.exclude(channel="internal")
    assert set(touchpoints.values_list("channel", "kind")) == {
        ("sms", "message_in"),
        ("phone", "call"),
    }


def test_a_reply_on_a_call_ticket_fails_at_once_with_a_clear_reason(
    client, voice_inbox, teams, tech_agent
):
    accepted(client, PATH, call_status(status="no-answer"))
    ticket = Ticket.objects.get()

    with TestCase.captureOnCommitCallbacks(execute=True):
        event = do_reply(ticket=ticket, author=tech_agent, text="Hello?")

    event.refresh_from_db()
    assert event.delivery_status == "failed"
    assert "a phone call cannot be sent" in event.delivery_error


def test_a_call_that_opens_a_ticket_announces_the_ticket(
    client, voice_inbox, teams, published
):
    """A call is no message: the ticket it opens is announced apart, so open
    queues show it at once."""
    accepted(client, PATH, call_status(status="no-answer"))

    ticket = Ticket.objects.get()
    created = [event for _, event in published if event["type"] == "ticket.created"]
    assert created[0] == {
        "type": "ticket.created",
        "ticket_id": ticket.pk,
        "customer_id": ticket.customer_id,
        "channel": "phone",
    }
    assert {
        group for group, event in published if event["type"] == "ticket.created"
    } >= {
        f"ticket.{ticket.pk}",
        "desk",
    }
