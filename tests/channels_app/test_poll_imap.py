"""`manage.py poll_imap` polls inboxes now and says what each poll did."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from channels_app.models import InboundRecord, Inbox

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


def run(*args) -> str:
    out = StringIO()
    call_command("poll_imap", *args, stdout=out)
    return out.getvalue()


def test_every_pollable_inbox_is_polled(dovecot, imap_folder, inbox, corpus_dir):
    """New mail is stored, and the line per inbox counts it."""
    mail = corpus_dir / "email" / "desk-fixtures" / "only_text.eml"
    dovecot.append(imap_folder, mail.read_bytes())

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
