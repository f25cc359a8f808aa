import email
import hashlib
import io
import os
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import TestCase, override_settings

from channels_app.adapters.email import EmailAdapter
from channels_app.models import InboundRecord, Inbox
from tests.channels_app.email.mail_support import new_mail
from tests.server import free_port
from tests.worker import database_url
from tickets.inbound import InboundError
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

Status = InboundRecord.Status


def ingest_eml(*args: str, stdin: bytes | None = None) -> list[str]:
    """Run the command, letting what it queues run; its output lines."""
    out, err = io.StringIO(), io.StringIO()
    options = {"stdout": out, "stderr": err}
    if stdin is not None:
        options["stdin"] = io.BytesIO(stdin)
    try:
        with TestCase.captureOnCommitCallbacks(execute=True):
            call_command("ingest_eml", *args, **options)
    finally:
        ingest_eml.stderr = err.getvalue()
    return out.getvalue().splitlines()


def write_mail(path, **fields):
    path.write_bytes(new_mail(**fields).as_bytes())
    return path


def test_a_mail_file_becomes_a_ticket(tmp_path, teams):
    path = write_mail(tmp_path / "one.eml", subject="Printer on fire")

    lines = ingest_eml(str(path))

    assert lines == ["1 mail(s) read, 1 new, 0 duplicate(s), 1 processed, 0 failed."]
    record = InboundRecord.objects.get()
    assert (record.channel, record.status) == ("email", Status.PROCESSED)
    assert record.external_id.startswith("<") and record.external_id.endswith(">")
    assert bytes(record.payload) == path.read_bytes()
    assert Ticket.objects.get().subject == "Printer on fire"


def test_a_directory_is_read_recursively_for_eml_files(tmp_path, teams):
    (tmp_path / "inner").mkdir()
    write_mail(tmp_path / "a.eml", subject="A")
    write_mail(tmp_path / "inner" / "b.EML", subject="B")
    (tmp_path / "notes.txt").write_text("not a mail")

    lines = ingest_eml(str(tmp_path))

    assert lines[-1].startswith("2 mail(s) read, 2 new")
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["A", "B"]


def test_every_message_of_an_mbox_file_is_ingested(tmp_path, teams):
    first = new_mail(subject="First", text="From the start\nline two")
    second = new_mail(subject="Second", text="Hi\n\n>From the quote")
    mbox = (
        b"From ana@example.com Mon Jan  1 00:00:00 2024\n"
        + first.as_bytes().replace(b"\nFrom the start", b"\n>From the start")
        + b"\nFrom bob@example.com Mon Jan  1 00:00:01 2024\n"
        + second.as_bytes().replace(b">From the", b">>From the")
        + b"\n"
    )
    path = tmp_path / "box.mbox"
    path.write_bytes(mbox)

    lines = ingest_eml(str(path))

    assert lines[-1].startswith("2 mail(s) read, 2 new")
    stored = {r.external_id: bytes(r.payload) for r in InboundRecord.objects.all()}
    assert stored == {
        first["Message-ID"]: first.as_bytes(),
        second["Message-ID"]: second.as_bytes(),
    }
    texts = dict(
        TimelineEvent.objects.filter(kind="message_in").values_list("subject", "text")
    )
    assert texts == {"First": "From the start\nline two", "Second": "Hi"}


def test_standard_input_is_read_when_no_path_is_given(teams):
    raw = new_mail(subject="Piped").as_bytes()

    assert ingest_eml(stdin=raw)[-1].startswith("1 mail(s) read, 1 new")
    assert ingest_eml("-", stdin=raw)[-1].startswith("1 mail(s) read, 0 new, 1 dup")
    assert Ticket.objects.get().subject == "Piped"


def test_a_piped_mail_with_an_envelope_from_line_is_one_mail(teams):
    raw = b"From ana@example.com  Mon Jan  1 00:00:00 2024\n" + new_mail().as_bytes()

    ingest_eml(stdin=raw)

    record = InboundRecord.objects.get()
    assert not bytes(record.payload).startswith(b"From ")
    assert record.status == Status.PROCESSED


def test_an_unreadable_path_fails_the_command_after_the_others_are_read(
    tmp_path, teams
):
    good = write_mail(tmp_path / "good.eml")

    with pytest.raises(CommandError, match="1 path"):
        ingest_eml(str(tmp_path / "missing.eml"), str(good))

    assert "cannot read" in ingest_eml.stderr
    assert InboundRecord.objects.get().status == Status.PROCESSED


class PoisonAdapter(EmailAdapter):
    """The email adapter, failing on mails whose subject says "poison"."""

    def parse(self, payload: bytes, *, inbox=None):
        messages = super().parse(payload, inbox=inbox)
        if "poison" in messages[0].subject:
            raise InboundError("this one is poisoned")
        return messages


@override_settings(
    CHANNEL_ADAPTERS={"email": "tests.channels_app.email.test_ingest_eml.PoisonAdapter"}
)
def test_a_mail_that_fails_is_reported_and_the_rest_go_on(tmp_path, teams):
    write_mail(tmp_path / "1.eml", subject="fine")
    write_mail(tmp_path / "2.eml", subject="poison")
    write_mail(tmp_path / "3.eml", subject="fine too")

    lines = ingest_eml(str(tmp_path))

    assert lines[-1] == "3 mail(s) read, 3 new, 0 duplicate(s), 2 processed, 1 failed."
    assert any("2.eml: failed" in line and "poisoned" in line for line in lines)
    failed = InboundRecord.objects.get(status=Status.FAILED)
    assert "this one is poisoned" in failed.error
    assert Ticket.objects.count() == 2


def test_an_empty_file_is_skipped(tmp_path, teams):
    (tmp_path / "empty.eml").write_bytes(b"")

    lines = ingest_eml(str(tmp_path / "empty.eml"))

    assert (
        lines[-1]
        == "1 mail(s) read, 0 new, 0 duplicate(s), 1 empty, 0 processed, 0 failed."
    )
    assert not InboundRecord.objects.exists()


def test_mails_are_filed_under_the_named_inbox(tmp_path, teams):
    inbox = Inbox.objects.create(adapter="email", name="Help", slug="help")
    path = write_mail(tmp_path / "one.eml")

    ingest_eml("--inbox", "help", str(path))

    assert InboundRecord.objects.get().inbox == "help"
    assert TimelineEvent.objects.get(kind="message_in").inbox == inbox
    with pytest.raises(CommandError, match="no email inbox"):
        ingest_eml("--inbox", "nowhere", str(path))


def test_with_queue_the_mails_are_stored_for_the_workers(tmp_path, teams):
    path = write_mail(tmp_path / "one.eml")
    out = io.StringIO()

    with TestCase.captureOnCommitCallbacks(execute=False) as queued:
        call_command("ingest_eml", "--queue", str(path), stdout=out)

    assert out.getvalue().strip().endswith("1 new, 0 duplicate(s), 1 queued.")
    assert InboundRecord.objects.get().status == Status.RECEIVED
    assert len(queued) == 1


@override_settings(MAX_INBOUND_PAYLOAD_BYTES=3000)
def test_a_mail_too_large_to_store_keeps_its_headers_and_a_note(tmp_path, teams):
    mail = new_mail(subject="Huge")
    mail.add_attachment(b"x" * 10_000, maintype="application", subtype="zip")
    path = tmp_path / "huge.eml"
    path.write_bytes(mail.as_bytes())

    lines = ingest_eml(str(path))

    assert "1 over the size limit (headers kept)" in lines[-1]
    record = InboundRecord.objects.get()
    assert record.external_id == mail["Message-ID"]
    assert len(record.payload) < 3000
    event = TimelineEvent.objects.get(kind="message_in")
    assert event.subject == "Huge"
    assert f"{path.stat().st_size} bytes" in event.text
    assert event.ticket.customer.identities.get().value == "ana@example.com"


def _expected_records(files) -> int:
    """Distinct mails by the stdlib's own reading: one per Message-ID, and for
    mails without one, one per distinct content (two corpus files are the same
    bytes)."""
    keys = set()
    for path in files:
        raw = path.read_bytes()
        message = email.message_from_bytes(raw, policy=policy.compat32)
        message_id = "".join(str(message.get("Message-ID") or "").split())
        keys.add(message_id or hashlib.sha256(raw).hexdigest())
    return len(keys)


def test_the_whole_corpus_goes_in_once_and_a_second_run_changes_nothing(
    corpus_dir, teams
):
    folder = corpus_dir / "email"
    files = sorted(folder.rglob("*.eml"))
    distinct = _expected_records(files)

    lines = ingest_eml(str(folder))

    assert lines == [
        f"{len(files)} mail(s) read, {distinct} new, {len(files) - distinct} "
        f"duplicate(s), {distinct} processed, 0 failed."
    ]
    assert InboundRecord.objects.filter(status=Status.PROCESSED).count() == distinct
    events = TimelineEvent.objects.count()
    tickets = Ticket.objects.count()
    assert events >= distinct

    again = ingest_eml(str(folder))

    assert again == [
        f"{len(files)} mail(s) read, 0 new, {len(files)} duplicate(s), "
        "0 processed, 0 failed."
    ]
    assert (TimelineEvent.objects.count(), Ticket.objects.count()) == (
        events,
        tickets,
    )


# ------------------------------------------- as a mail server runs it: exit codes


def run_ingest_eml(*args: str, **env: str) -> subprocess.CompletedProcess:
    """The command in a process of its own, as a mail server's pipe runs it, on
    this run's database and Redis unless `env` says otherwise."""
    return subprocess.run(
        [sys.executable, "manage.py", "ingest_eml", *args],
        cwd=Path(settings.BASE_DIR),
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            # Tasks go to the broker, as in production, not run inline.
            "CELERY_TASK_ALWAYS_EAGER": "0",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def mail_with_id(message_id: str) -> bytes:
    mail = new_mail()
    mail.replace_header("Message-ID", message_id)
    return mail.as_bytes()


@pytest.mark.worker
def test_with_the_database_out_of_reach_the_mail_is_named_and_the_exit_is_75(
    tmp_path,
):
    """EX_TEMPFAIL: the mail server keeps the mail and delivers it again."""
    path = tmp_path / "one.eml"
    path.write_bytes(mail_with_id("<kept-1@example.com>"))
    nobody_listens = f"postgres://postgres@127.0.0.1:{free_port()}/desk"

    finished = run_ingest_eml(str(path), DATABASE_URL=nobody_listens)

    assert finished.returncode == 75, finished.stdout + finished.stderr
    assert f"{path}: not stored" in finished.stdout
    assert "1 not stored" in finished.stdout
    assert f"1 mail(s) not stored, to be delivered again: {path}" in finished.stderr
    assert "<kept-1@example.com>" in finished.stderr


@pytest.mark.worker
def test_with_the_database_out_of_reach_a_piped_mail_into_an_inbox_exits_75(tmp_path):
    nobody_listens = f"postgres://postgres@127.0.0.1:{free_port()}/desk"
    finished = subprocess.run(
        [sys.executable, "manage.py", "ingest_eml", "--inbox", "support"],
        cwd=Path(settings.BASE_DIR),
        env={**os.environ, "DATABASE_URL": nobody_listens},
        input=mail_with_id("<piped-1@example.com>"),
        capture_output=True,
        timeout=120,
    )

    assert finished.returncode == 75, finished.stdout + finished.stderr
    assert b"<stdin> <piped-1@example.com>" in finished.stderr


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("queue", [False, True], ids=["processed here", "queued"])
def test_with_redis_out_of_reach_the_mail_is_stored_and_the_exit_is_0(
    queue, tmp_path, teams
):
    """Storing needs only PostgreSQL. Processed here, the mail is on a ticket at
    once; left to the workers, it waits stored for their sweep."""
    path = write_mail(tmp_path / "one.eml", subject="Printer on fire")
    nobody_listens = f"redis://127.0.0.1:{free_port()}/0"

    finished = run_ingest_eml(
        str(path), *(["--queue"] if queue else []), REDIS_URL=nobody_listens
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "not stored" not in finished.stdout
    record = InboundRecord.objects.get()
    assert bytes(record.payload) == path.read_bytes()
    if queue:
        assert record.status == Status.RECEIVED
        assert not Ticket.objects.exists()
    else:
        assert record.status == Status.PROCESSED
        assert Ticket.objects.get().subject == "Printer on fire"
