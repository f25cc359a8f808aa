"""The intake's counts: waiting, stuck and failed records, on /healthz/intake."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import TestCase, override_settings
from django.utils import timezone

from channels_app.ingest import submit_message
from channels_app.intake_health import intake_health, records_to_review_for
from channels_app.models import InboundRecord
from tests.helpers import deliver, message

pytestmark = pytest.mark.django_db

Status = InboundRecord.Status


def waiting(*, for_seconds: int = 0, **fields) -> InboundRecord:
    """A stored message whose wake-up was lost, received `for_seconds` ago."""
    with TestCase.captureOnCommitCallbacks(execute=False):
        record, _ = submit_message(message("chat", ("web", "visitor-1"), **fields))
    if for_seconds:
        InboundRecord.objects.filter(pk=record.pk).update(
            received_at=timezone.now() - timedelta(seconds=for_seconds)
        )
    record.refresh_from_db()
    assert record.status == Status.RECEIVED
    return record


def failed(text: str = "Longer than the limit") -> InboundRecord:
    with override_settings(MAX_MESSAGE_TEXT_CHARS=10):
        record = deliver(message("email", text=text))
    assert record.status == Status.FAILED
    return record


def test_all_is_well_when_nothing_waits_long_and_nothing_failed(client, teams):
    deliver(message("email", text="Hi"))
    waiting(text="Just arrived")

    answer = client.get("/healthz/intake")

    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "waiting": 1,
        "stuck": 0,
        "failed": 0,
        "oldest_stuck_seconds": None,
        "stuck_after_seconds": 120,
    }
    assert answer["Cache-Control"].startswith("max-age=0")


def test_stuck_and_failed_records_answer_503_with_their_numbers(client, teams):
    waiting(for_seconds=600, text="Ten minutes ago")
    waiting(for_seconds=300, text="Five minutes ago")
    waiting(for_seconds=30, text="Half a minute ago")
    failed()

    answer = client.get("/healthz/intake")

    assert answer.status_code == 503
    body = answer.json()
    assert (body["status"], body["waiting"], body["stuck"], body["failed"]) == (
        "alert",
        3,
        2,
        1,
    )
    assert 600 <= body["oldest_stuck_seconds"] < 660
    assert body["stuck_after_seconds"] == 120


@override_settings(INBOUND_STUCK_SECONDS=20)
def test_a_record_under_a_worker_claim_counts_as_waiting_and_can_be_stuck(teams):
    record = waiting(for_seconds=60)
    InboundRecord.objects.filter(pk=record.pk).update(
        status=Status.PROCESSING, claimed_at=timezone.now(), claim_token="t"
    )

    health = intake_health()

    assert (health.waiting, health.stuck, health.failed) == (1, 1, 0)
    assert health.stuck_after_seconds == 20


def test_only_supervisors_have_records_to_review(teams, supervisor, tech_agent):
    stuck = waiting(for_seconds=600)
    broken = failed()
    waiting(text="fresh")
    deliver(message("email", text="Fine"))

    assert list(records_to_review_for(supervisor)) == [stuck, broken]
    assert not records_to_review_for(tech_agent).exists()
    assert not records_to_review_for(AnonymousUser()).exists()
    supervisor.is_active = False
    assert not records_to_review_for(supervisor).exists()


def test_the_counts_take_one_query(teams, django_assert_num_queries):
    waiting(for_seconds=600)
    failed()

    with django_assert_num_queries(1):
        intake_health()
