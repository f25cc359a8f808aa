"""Mail in by IMAP polling, against a real Dovecot server on loopback: a poll
turns new mail into tickets, reads whole messages only for mail the desk does not
know, survives a changed UIDVALIDITY without duplicates and never changes the
mailbox."""

from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser

import pytest
from django.utils import timezone
from imapclient import IMAPClient

from channels_app.email.imap import MESSAGE_ID_ITEM, poll_inbox
from channels_app.email.raw import message_id_of
from channels_app.ingest import receive_inbound
from channels_app.models import ImapCursor, InboundRecord, Inbox
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)

# Mails of the corpus with a Message-ID each of their own, none automated.
CUSTOMER_MAILS = (
    "support_1.eml",
    "only_text.eml",
    "only_html.eml",
    "html_and_attachments.eml",
    "mail_with_quote.eml",
    "welcome_html.eml",
)


@pytest.fixture
def mails(corpus_dir):
    """Raw corpus mails by file name."""
    folder = corpus_dir / "email" / "desk-fixtures"
    return lambda *names: [(folder / name).read_bytes() for name in names]


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
def fetches(monkeypatch) -> list[tuple[list[int], list[str]]]:
    """Every FETCH the desk sends: (UIDs, data items)."""
    sent = []
    real_fetch = IMAPClient.fetch

    def recording_fetch(self, messages, data, modifiers=None):
        sent.append((list(messages), [str(item) for item in data]))
        return real_fetch(self, messages, data, modifiers)

    monkeypatch.setattr(IMAPClient, "fetch", recording_fetch)
    return sent


def bodies_fetched(fetches) -> list[int]:
    """UIDs whose whole message was fetched."""
    return [uid for uids, items in fetches if "BODY.PEEK[]" in items for uid in uids]


def message_id(raw: bytes) -> str:
    return message_id_of(BytesHeaderParser().parsebytes(raw)["Message-ID"])


def test_a_poll_turns_new_mail_into_tickets(dovecot, imap_folder, inbox, mails):
    """Each new mail is stored raw under its Message-ID and opens a ticket."""
    raws = mails(*CUSTOMER_MAILS)
    dovecot.append(imap_folder, *raws)

    result = poll_inbox(inbox)

    assert result.ok, result.error
    assert result.stored == len(raws)
    records = InboundRecord.objects.filter(channel="email")
    assert sorted(records.values_list("external_id", flat=True)) == sorted(
        message_id(raw) for raw in raws
    )
    for record in records:
        assert record.inbox == "support"
        assert record.status == InboundRecord.Status.PROCESSED, record.error
        event = TimelineEvent.objects.get(pk=record.event_ids[0])
        assert event.kind == TimelineEvent.Kind.MESSAGE_IN
        assert event.external_id == record.external_id
        assert event.ticket is not None
    assert Ticket.objects.count() == len(raws)
    cursor = ImapCursor.objects.get(inbox=inbox, folder=imap_folder)
    assert cursor.uidvalidity == dovecot.uidvalidity(imap_folder)
    assert cursor.last_uid == len(raws)


def test_a_second_poll_adds_nothing_and_fetches_nothing(
    dovecot,
    imap_folder,
    inbox,
    mails,
    fetches,
):
    """Polling again without new mail stores nothing and fetches no message."""
    dovecot.append(imap_folder, *mails(*CUSTOMER_MAILS))
    poll_inbox(inbox)
    fetches.clear()

    again = poll_inbox(inbox)

    assert again.ok and again.stored == 0
    assert fetches == []
    assert InboundRecord.objects.count() == len(CUSTOMER_MAILS)
    assert Ticket.objects.count() == len(CUSTOMER_MAILS)


def test_only_mail_after_the_cursor_is_read(
    dovecot,
    imap_folder,
    inbox,
    mails,
    fetches,
):
    """A later poll asks only for messages above the last UID read."""
    first, second = mails("only_text.eml", "only_html.eml")
    dovecot.append(imap_folder, first)
    poll_inbox(inbox)
    fetches.clear()
    (uid,) = dovecot.append(imap_folder, second)

    result = poll_inbox(inbox)

    assert result.stored == 1 and result.checked == 1
    assert [uids for uids, _ in fetches] == [[uid], [uid]]
    assert InboundRecord.objects.filter(external_id=message_id(second)).exists()
    assert ImapCursor.objects.get(inbox=inbox).last_uid == uid


def test_mail_already_stored_is_not_fetched_whole(
    dovecot,
    imap_folder,
    inbox,
    mails,
    fetches,
):
    """Mail the desk holds from another door costs a header fetch, not a body."""
    known, new = mails("only_text.eml", "only_html.eml")
    receive_inbound(channel="email", payload=known, external_id=message_id(known))
    known_uid, new_uid = dovecot.append(imap_folder, known, new)

    result = poll_inbox(inbox)

    assert (result.stored, result.already_known) == (1, 1)
    header_fetches = [uids for uids, items in fetches if MESSAGE_ID_ITEM in items]
    assert header_fetches == [[known_uid, new_uid]]
    assert bodies_fetched(fetches) == [new_uid]
    assert InboundRecord.objects.count() == 2


def test_mail_already_on_a_timeline_is_not_fetched_whole(
    dovecot,
    imap_folder,
    inbox,
    mails,
    fetches,
):
    """A Message-ID already on the timeline (the desk's own copy of a mail, say) is
    recognised from its header alone."""
    from tests.helpers import deliver, message

    (raw,) = mails("only_text.eml")
    deliver(message("email", external_id=message_id(raw)))

    dovecot.append(imap_folder, raw)

    result = poll_inbox(inbox)

    assert (result.stored, result.already_known) == (0, 1)
    assert bodies_fetched(fetches) == []


def test_mails_sharing_a_message_id_are_stored_once(
    dovecot,
    imap_folder,
    inbox,
    mails,
    fetches,
):
    """Two messages with one Message-ID in a folder are one mail to the desk."""
    first_uid, _ = dovecot.append(imap_folder, *mails("support.eml", "reply.eml"))

    result = poll_inbox(inbox)

    assert (result.stored, result.already_known) == (1, 1)
    assert bodies_fetched(fetches) == [first_uid]
    assert InboundRecord.objects.count() == 1


def test_a_changed_uidvalidity_rereads_the_folder_without_duplicates(
    dovecot,
    imap_folder,
    inbox,
    mails,
    fetches,
):
    """After the folder is recreated under a new UIDVALIDITY, the old mail is
    recognised by Message-ID, only the new mail is stored, and the cursor follows
    the new UIDVALIDITY."""
    old = mails(*CUSTOMER_MAILS[:3])
    dovecot.append(imap_folder, *old)
    poll_inbox(inbox)
    before = dovecot.uidvalidity(imap_folder)
    dovecot.recreate(imap_folder)
    (new,) = mails(CUSTOMER_MAILS[3])
    *_, new_uid = dovecot.append(imap_folder, *old, new)
    after = dovecot.uidvalidity(imap_folder)
    assert after != before
    fetches.clear()

    result = poll_inbox(inbox)

    assert result.ok, result.error
    assert result.resynced
    assert (result.stored, result.already_known) == (1, len(old))
    assert bodies_fetched(fetches) == [new_uid]
    assert InboundRecord.objects.count() == len(old) + 1
    assert Ticket.objects.count() == len(old) + 1
    cursor = ImapCursor.objects.get(inbox=inbox)
    assert (cursor.uidvalidity, cursor.last_uid) == (after, new_uid)


def test_a_cursor_of_another_uidvalidity_is_resynced(
    dovecot,
    imap_folder,
    inbox,
    mails,
    fetches,
):
    """UIDs read under another UIDVALIDITY are not trusted: the folder is read
    from the start, and nothing is stored twice."""
    dovecot.append(imap_folder, *mails(*CUSTOMER_MAILS))
    poll_inbox(inbox)
    ImapCursor.objects.filter(inbox=inbox).update(uidvalidity=1, last_uid=10_000)
    fetches.clear()

    result = poll_inbox(inbox)

    assert result.resynced
    assert (result.stored, result.already_known) == (0, len(CUSTOMER_MAILS))
    assert bodies_fetched(fetches) == []
    assert InboundRecord.objects.count() == len(CUSTOMER_MAILS)
    cursor = ImapCursor.objects.get(inbox=inbox)
    assert cursor.uidvalidity == dovecot.uidvalidity(imap_folder)
    assert cursor.last_uid == len(CUSTOMER_MAILS)


def test_a_first_read_can_be_limited_to_recent_mail(
    dovecot, imap_folder, inbox, mails, fetches
):
    """With imap_since_days, older mail is passed over on the first read, and the
    cursor moves past it all the same."""
    inbox.config = {**inbox.config, "imap_since_days": 30}
    inbox.save(update_fields=["config"])
    old, recent = mails("only_text.eml", "only_html.eml")
    dovecot.append(imap_folder, recent)
    # Copied in from an archive after the recent mail: the higher UID.
    (old_uid,) = dovecot.append(
        imap_folder, old, received=datetime(2020, 1, 6, tzinfo=UTC)
    )

    first = poll_inbox(inbox)
    fetches.clear()
    second = poll_inbox(inbox)

    assert (first.checked, first.stored) == (1, 1)
    assert InboundRecord.objects.get().external_id == message_id(recent)
    assert ImapCursor.objects.get(inbox=inbox).last_uid == old_uid
    assert (second.checked, second.stored, fetches) == (0, 0, [])


def test_a_wrong_password_is_reported_and_changes_nothing(
    dovecot,
    imap_folder,
    inbox,
    mails,
):
    """A refused login is a clear error in the result; the cursor stays put."""
    dovecot.append(imap_folder, *mails("only_text.eml"))
    poll_inbox(inbox)
    dovecot.append(imap_folder, *mails("only_html.eml"))
    cursor = ImapCursor.objects.get(inbox=inbox)
    inbox.secrets = {"imap_password": "not-the-password"}
    inbox.save(update_fields=["secrets"])

    result = poll_inbox(inbox)

    assert not result.ok
    assert result.error == (
        f"login as {dovecot.user} on 127.0.0.1:{dovecot.port} failed: "
        "[AUTHENTICATIONFAILED] Authentication failed."
    )
    assert InboundRecord.objects.count() == 1
    after = ImapCursor.objects.get(pk=cursor.pk)
    assert (after.uidvalidity, after.last_uid, after.updated_at) == (
        cursor.uidvalidity,
        cursor.last_uid,
        cursor.updated_at,
    )
    assert after.polling_until is None


def test_an_unreachable_server_is_reported(inbox):
    """A server that does not answer is an error in the result, not an exception."""
    from tests.smtp_server import free_port

    inbox.config = {**inbox.config, "imap_port": free_port()}
    inbox.save(update_fields=["config"])

    result = poll_inbox(inbox)

    assert result.error.startswith("cannot talk to 127.0.0.1:")
    assert InboundRecord.objects.count() == 0


def test_a_server_that_cannot_start_tls_is_not_sent_the_password(dovecot, inbox):
    """With imap_tls "starttls", a server without STARTTLS is an error, and the
    login is never attempted in the clear."""
    inbox.config = {**inbox.config, "imap_tls": "starttls"}
    inbox.save(update_fields=["config"])
    logins_before = dovecot.log().count("Login: user=<desk>")

    result = poll_inbox(inbox)

    assert "STARTTLS" in result.error
    assert dovecot.log().count("Login: user=<desk>") == logins_before


def test_an_inbox_without_a_password_is_reported(inbox):
    """Missing settings are named in the result; nothing is contacted."""
    inbox.secrets = {}
    inbox.save(update_fields=["secrets"])

    result = poll_inbox(inbox)

    assert result.error == "inbox support needs imap_user and the imap_password secret"
    assert not ImapCursor.objects.exists()


def test_polling_leaves_the_mailbox_as_it_was(dovecot, imap_folder, inbox, mails):
    """Mail stays on the server, unread and not deleted."""
    uids = dovecot.append(imap_folder, *mails(*CUSTOMER_MAILS[:2]))

    poll_inbox(inbox)

    client = dovecot.client()
    try:
        client.select_folder(imap_folder, readonly=True)
        assert client.search(["ALL"]) == uids
        flags = client.get_flags(uids)
        # \Recent belongs to the server's sessions; anything else was set.
        assert {uid: set(flags[uid]) - {b"\\Recent"} for uid in uids} == {
            uid: set() for uid in uids
        }
    finally:
        client.logout()


def test_a_folder_held_by_a_running_poll_is_left_alone(
    dovecot,
    imap_folder,
    inbox,
    mails,
):
    """Two polls never read one folder at once: the second one does nothing."""
    dovecot.append(imap_folder, *mails("only_text.eml"))
    ImapCursor.objects.create(
        inbox=inbox,
        folder=imap_folder,
        polling_until=timezone.now() + timedelta(minutes=1),
    )

    result = poll_inbox(inbox)

    assert result.busy and result.stored == 0
    assert InboundRecord.objects.count() == 0


def test_a_poll_abandoned_long_ago_does_not_hold_the_folder(
    dovecot,
    imap_folder,
    inbox,
    mails,
):
    """A poll whose worker died frees the folder once its time is up."""
    dovecot.append(imap_folder, *mails("only_text.eml"))
    ImapCursor.objects.create(
        inbox=inbox,
        folder=imap_folder,
        polling_until=timezone.now() - timedelta(seconds=1),
    )

    result = poll_inbox(inbox)

    assert not result.busy and result.stored == 1
    assert ImapCursor.objects.get(inbox=inbox).polling_until is None


def test_a_mail_over_the_size_limit_is_recorded_with_a_note(
    dovecot,
    imap_folder,
    inbox,
    mails,
    fetches,
    settings,
):
    """A mail too large to store leaves its headers and a visible note instead,
    and its body is never fetched."""
    small, large = mails("only_text.eml", "multiple_attachments.eml")
    settings.MAX_INBOUND_PAYLOAD_BYTES = len(small) + 1000
    assert len(large) > settings.MAX_INBOUND_PAYLOAD_BYTES
    _, large_uid = dovecot.append(imap_folder, small, large)

    result = poll_inbox(inbox)

    assert (result.stored, result.oversized) == (1, 1)
    assert large_uid not in bodies_fetched(fetches)
    record = InboundRecord.objects.get(external_id=message_id(large))
    assert b"X-Desk-Oversized" in bytes(record.payload)
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    event = TimelineEvent.objects.get(pk=record.event_ids[0])
    assert "over the" in event.text and f"UID {large_uid}" in event.text
    assert event.ticket is not None


def test_every_desk_fixture_mail_is_taken_in(
    dovecot,
    imap_folder,
    inbox,
    corpus_dir,
):
    """The whole folder of real support mail goes in: one record per Message-ID,
    none failing."""
    raws = [
        path.read_bytes()
        for path in sorted((corpus_dir / "email" / "desk-fixtures").glob("*.eml"))
    ]
    dovecot.append(imap_folder, *raws)

    result = poll_inbox(inbox)

    distinct = {message_id(raw) for raw in raws}
    assert result.checked == len(raws)
    assert result.stored == len(distinct)
    statuses = set(InboundRecord.objects.values_list("status", flat=True))
    assert statuses == {InboundRecord.Status.PROCESSED}
