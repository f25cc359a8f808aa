from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import TestCase, override_settings

from channels_app.adapters.api import ApiAdapter
from channels_app.ingest import receive_inbound, submit_message
from channels_app.management.commands.replay_inbound import Command
from channels_app.models import InboundRecord
from tests.helpers import deliver, message
from tickets.inbound import UnsupportedEventError
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

Status = InboundRecord.Status


class ReceiptsAdapter(ApiAdapter):
    """A provider whose delivery receipts the desk does not handle."""

    key = "receipts"

    def parse(self, payload: bytes, *, inbox=None):
        raise UnsupportedEventError("delivery receipts are not handled")


# The desk's adapters, whose channels the other messages are on, and that one.
ADAPTERS_WITH_RECEIPTS = {
    **settings.CHANNEL_ADAPTERS,
    "receipts": "tests.channels_app.test_replay_inbound.ReceiptsAdapter",
}


def replay(*args: str) -> list[str]:
    """Run the command, letting what replayed messages queue run; its output lines."""
    out = StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("replay_inbound", *args, stdout=out)
    return out.getvalue().splitlines()


def failed_for_length(text: str = "Too long for the limit") -> InboundRecord:
    with override_settings(MAX_MESSAGE_TEXT_CHARS=10):
        record = deliver(message("email", text=text))
    assert record.status == Status.FAILED
    return record


def received_but_never_processed() -> InboundRecord:
    """A stored payload whose queued task was lost: nothing ran it."""
    record, _ = submit_message(message("chat", ("web", "visitor-9"), text="Lost"))
    return record


@override_settings(CHANNEL_ADAPTERS=ADAPTERS_WITH_RECEIPTS)
def unsupported() -> InboundRecord:
    with TestCase.captureOnCommitCallbacks(execute=True):
        record, _ = receive_inbound(channel="receipts", payload=b'{"status": "read"}')
    record.refresh_from_db()
    assert record.status == Status.UNSUPPORTED
    return record


def test_a_failed_record_is_processed_once_its_cause_is_fixed(teams):
    record = failed_for_length()
    assert not TimelineEvent.objects.exists()

    lines = replay()

    record.refresh_from_db()
    assert (record.status, record.error, record.attempts) == (Status.PROCESSED, "", 2)
    assert lines == [
        f"#{record.pk} api {record.external_id}: failed → processed",
        "Replayed 1 record: 1 processed.",
    ]
    event = TimelineEvent.objects.get(kind="message_in")
    assert record.event_ids == [event.pk]
    assert event.text == "Too long for the limit"
    assert Ticket.objects.get().team == teams["tech"]


def test_by_default_only_failed_records_are_replayed(teams):
    failed = failed_for_length()
    lost = received_but_never_processed()
    receipt = unsupported()

    replay()

    statuses = dict(InboundRecord.objects.values_list("pk", "status"))
    assert statuses == {
        failed.pk: Status.PROCESSED,
        lost.pk: Status.RECEIVED,
        receipt.pk: Status.UNSUPPORTED,
    }
    assert InboundRecord.objects.get(pk=receipt.pk).attempts == 1


@override_settings(CHANNEL_ADAPTERS=ADAPTERS_WITH_RECEIPTS)
def test_chosen_statuses_are_replayed_and_what_still_fails_says_why(teams):
    failed = failed_for_length()
    lost = received_but_never_processed()
    receipt = unsupported()

    lines = replay("--status", "received", "--status", "unsupported")

    assert lines == [
        f"#{lost.pk} api {lost.external_id}: received → processed",
        f"#{receipt.pk} receipts {receipt.external_id}: unsupported → unsupported "
        "(UnsupportedEventError: delivery receipts are not handled)",
        "Replayed 2 records: 1 processed, 1 unsupported.",
    ]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.FAILED, 1)
    assert TimelineEvent.objects.get(kind="message_in").text == "Lost"


def test_named_records_are_replayed_whatever_their_status(teams):
    failed_for_length()
    lost = received_but_never_processed()
    done = deliver(message("email"))

    lines = replay("--id", str(lost.pk), "--id", str(done.pk))

    assert lines == [
        f"#{done.pk} api {done.external_id}: processed, not replayed",
        f"#{lost.pk} api {lost.external_id}: received → processed",
        "Replayed 1 record: 1 processed.",
    ]
    assert InboundRecord.objects.filter(status=Status.FAILED).count() == 1


def test_naming_a_record_that_does_not_exist_replays_nothing(teams):
    failed = failed_for_length()

    with pytest.raises(CommandError, match="no inbound record with id 998, 999"):
        replay("--id", "999", "--id", str(failed.pk), "--id", "998")

    failed.refresh_from_db()
    assert failed.attempts == 1


def test_replay_can_be_limited_to_one_channel(teams):
    api = failed_for_length()
    with TestCase.captureOnCommitCallbacks(execute=True):
        fax, _ = receive_inbound(channel="fax", payload=b"{}")

    lines = replay("--channel", "fax")

    assert lines == [
        f"#{fax.pk} fax {fax.external_id}: failed → failed "
        "(UnknownChannelError: no channel adapter is registered as 'fax')",
        "Replayed 1 record: 1 failed.",
    ]
    api.refresh_from_db()
    assert api.attempts == 1


def test_a_dry_run_lists_the_records_and_changes_nothing(teams):
    first = failed_for_length("Twelve chars")
    second = failed_for_length("Thirteen char")

    lines = replay("--dry-run")

    assert lines == [
        f"#{first.pk} api {first.external_id}: failed, attempts: 1 "
        "(InboundError: message text is 12 characters; the limit is 10)",
        f"#{second.pk} api {second.external_id}: failed, attempts: 1 "
        "(InboundError: message text is 13 characters; the limit is 10)",
        "Would replay 2 records.",
    ]
    assert set(InboundRecord.objects.values_list("status", "attempts")) == {
        (Status.FAILED, 1)
    }
    assert not TimelineEvent.objects.exists()


def test_records_that_still_fail_are_reported_and_fail_the_run_only_when_strict(
    teams,
):
    with override_settings(MAX_MESSAGE_TEXT_CHARS=10):
        record = failed_for_length()
        lines = replay()

        with pytest.raises(CommandError, match="1 of 1 record still not processed"):
            replay("--strict")

    assert lines[-1] == "Replayed 1 record: 1 failed."
    record.refresh_from_db()
    assert (record.status, record.attempts) == (Status.FAILED, 3)


def test_nothing_to_replay_is_said_plainly(teams):
    deliver(message("email"))

    assert replay("--strict") == ["Replayed 0 records."]


def test_the_help_explains_the_exit_status():
    parser = Command().create_parser("manage.py", "replay_inbound")

    assert "exits 0 unless --strict" in " ".join(parser.format_help().split())
