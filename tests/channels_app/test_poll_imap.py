"""Polling on schedule and on demand: beat queues a poll of every IMAP inbox, the
poll task reports what it did, and `manage.py poll_imap` polls now and says so."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from channels_app.models import ImapCursor, InboundRecord, Inbox
from channels_app.tasks import poll_imap_inbox, poll_imap_inboxes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def inbox(dovecot, imap_folder, teams) -> Inbox:
    return Inbox.objects.create(
        adapter=Inbox.Adapter.EMAIL,
        name="Support mailbox",
        slug="support",
        config=dovecot.inbox_config(imap_folder),
        secrets={"imap_password": dovecot.password},
    )


@pytest.fixture
def mail(corpus_dir) -> bytes:
    return (corpus_dir / "email" / "desk-fixtures" / "only_text.eml").read_bytes()


def run(*args) -> str:
    out = StringIO()
    call_command("poll_imap", *args, stdout=out)
    return out.getvalue()


def test_every_pollable_inbox_is_polled(dovecot, imap_folder, inbox, mail):
    """New mail is stored, and the line per inbox counts it."""
    dovecot.append(imap_folder, mail)

    output = run()

    assert output == f"support/{imap_folder}: 1 checked, 1 stored, 0 already known.\n"
    assert InboundRecord.objects.filter(inbox="support").count() == 1


def test_a_failed_poll_is_an_error(inbox):
    """A refused login is printed and makes the command fail."""
    inbox.secrets = {"imap_password": "wrong"}
    inbox.save(update_fields=["secrets"])

    with pytest.raises(CommandError, match="polling failed for support"):
        run("--inbox", "support")


def test_an_unknown_inbox_is_an_error(inbox):
    with pytest.raises(CommandError, match="no email inbox nowhere"):
        run("--inbox", "nowhere")


def test_the_beat_task_polls_every_enabled_imap_inbox(
    dovecot,
    imap_folder,
    inbox,
    mail,
):
    """Beat queues a poll of enabled email inboxes with an IMAP host, no others."""
    dovecot.append(imap_folder, mail)
    Inbox.objects.create(
        adapter=Inbox.Adapter.EMAIL,
        name="Switched off",
        slug="off",
        enabled=False,
        config=inbox.config,
        secrets=inbox.secrets,
    )
    Inbox.objects.create(adapter=Inbox.Adapter.EMAIL, name="No IMAP", slug="plain")

    assert poll_imap_inboxes.apply().get(disable_sync_subtasks=False) == 1

    assert InboundRecord.objects.filter(inbox="support").count() == 1
    assert list(ImapCursor.objects.values_list("inbox__slug", flat=True)) == ["support"]


def test_the_poll_task_reports_and_skips_what_it_cannot_poll(inbox):
    """The task returns the poll's result; a disabled inbox is skipped."""
    assert (
        poll_imap_inbox.apply((inbox.pk,)).get(disable_sync_subtasks=False)["stored"]
        == 0
    )
    inbox.enabled = False
    inbox.save(update_fields=["enabled"])

    assert poll_imap_inbox.apply((inbox.pk,)).get(disable_sync_subtasks=False) == {
        "inbox_id": inbox.pk,
        "skipped": "no enabled email inbox",
    }


def test_beat_polls_every_imap_poll_seconds(settings):
    """The beat schedule runs the polling task every IMAP_POLL_SECONDS."""
    from supportdesk.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["poll-imap-inboxes"]

    assert entry["task"] == poll_imap_inboxes.name
    assert entry["task"] in app.tasks
    assert entry["schedule"] == settings.IMAP_POLL_SECONDS
