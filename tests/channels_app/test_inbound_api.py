"""/api/v1/inbound-records/: failed payloads listed for supervisors and replayed
once the cause of the failure is fixed."""

import pytest
from django.test import TestCase, override_settings
from rest_framework.test import APIClient

from channels_app.api import PAYLOAD_SHOWN_CHARS
from channels_app.models import InboundRecord
from supportdesk.api.tokens import do_issue_api_token
from tests.helpers import deliver, message
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

RECORDS = "/api/v1/inbound-records/"
Status = InboundRecord.Status


def client_for(user, scope: str) -> APIClient:
    _, key = do_issue_api_token(user=user, name="test", scopes=[scope])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def failed_for_length(text: str = "Too long for the limit") -> InboundRecord:
    """A message refused by a text limit set too low, which is then raised."""
    with override_settings(MAX_MESSAGE_TEXT_CHARS=10):
        record = deliver(message("email", text=text))
    assert record.status == Status.FAILED
    return record


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def test_a_supervisor_lists_the_failed_records_with_their_errors(supervisor, teams):
    failed = failed_for_length()
    deliver(message("email", text="Fine"))

    response = client_for(supervisor, "read").get(RECORDS, {"status": "failed"})

    assert response.status_code == 200
    assert ids(response) == [failed.pk]
    [row] = response.json()["results"]
    assert row["status"] == "failed"
    assert row["error"] == (
        "InboundError: message text is 22 characters; the limit is 10"
    )
    assert row["attempts"] == 1
    assert "payload" not in row
    everything = client_for(supervisor, "read").get(RECORDS)
    assert len(ids(everything)) == 2


def test_a_record_shows_its_payload_cut_to_a_bound(supervisor, teams):
    small = failed_for_length()
    large = failed_for_length("x" * (PAYLOAD_SHOWN_CHARS + 100))
    client = client_for(supervisor, "read")

    shown = client.get(f"{RECORDS}{small.pk}/").json()
    cut = client.get(f"{RECORDS}{large.pk}/").json()

    assert "Too long for the limit" in shown["payload"]
    assert shown["payload_truncated"] is False
    assert shown["payload_size"] == len(bytes(small.payload))
    assert len(cut["payload"]) == PAYLOAD_SHOWN_CHARS
    assert cut["payload_truncated"] is True


def test_agents_are_refused_the_inbound_records(tech_agent, teams):
    record = failed_for_length()
    client = client_for(tech_agent, "admin")

    assert client.get(RECORDS).status_code == 403
    assert client.get(f"{RECORDS}{record.pk}/").status_code == 403
    assert client.post(f"{RECORDS}{record.pk}/replay/").status_code == 403
    record.refresh_from_db()
    assert record.status == Status.FAILED


def test_a_replay_processes_a_record_once_its_cause_is_fixed(supervisor, teams):
    record = failed_for_length()
    assert not Ticket.objects.exists()

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client_for(supervisor, "admin").post(f"{RECORDS}{record.pk}/replay/")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["error"], body["attempts"]) == ("processed", "", 2)
    event = TimelineEvent.objects.get(kind="message_in")
    assert body["event_ids"] == [event.pk]
    assert event.text == "Too long for the limit"
    # What the replay queued ran: the new ticket was routed.
    assert event.ticket.team == teams["tech"]


def test_a_replay_that_fails_again_says_why(supervisor, teams):
    record = failed_for_length()

    with override_settings(MAX_MESSAGE_TEXT_CHARS=10):
        response = client_for(supervisor, "admin").post(f"{RECORDS}{record.pk}/replay/")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attempts"]) == ("failed", 2)
    assert "the limit is 10" in response.json()["error"]


def test_a_processed_record_is_never_processed_twice(supervisor, teams):
    record = deliver(message("email", text="Fine"))

    response = client_for(supervisor, "admin").post(f"{RECORDS}{record.pk}/replay/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    record.refresh_from_db()
    assert record.attempts == 1
    assert TimelineEvent.objects.filter(kind="message_in").count() == 1


@pytest.mark.parametrize("scope", ["read", "write"])
def test_a_replay_needs_the_admin_scope(supervisor, teams, scope):
    record = failed_for_length()

    response = client_for(supervisor, scope).post(f"{RECORDS}{record.pk}/replay/")

    assert response.status_code == 403
    record.refresh_from_db()
    assert (record.status, record.attempts) == (Status.FAILED, 1)


def test_a_replay_takes_no_input(supervisor, teams):
    record = failed_for_length()

    response = client_for(supervisor, "admin").post(
        f"{RECORDS}{record.pk}/replay/", {"status": "processed"}, format="json"
    )

    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]
    record.refresh_from_db()
    assert record.status == Status.FAILED


def test_a_bad_status_filter_is_refused(supervisor):
    response = client_for(supervisor, "read").get(RECORDS, {"status": "lost"})

    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]
