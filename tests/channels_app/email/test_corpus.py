"""Every mail of the shared corpus, one at a time, through the desk's own door."""

import email
import hashlib
import re
from email import policy
from pathlib import Path

import pytest
from django.conf import settings

from channels_app.email.parse import UNKNOWN_SENDER, parse_email
from tests.channels_app.email.mail_support import event_of, receive_mail
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

_MAILS = Path(settings.BASE_DIR).parent / "shared" / "corpus" / "email"
# Collected when the module loads; an absent corpus leaves one case that fails
# through the corpus_dir fixture instead of none at all.
CORPUS_MAILS = sorted(str(p.relative_to(_MAILS)) for p in _MAILS.rglob("*.eml")) or [
    "(corpus missing)"
]
CLIENT_REPLIES = [name for name in CORPUS_MAILS if name.startswith("client-replies/")]
# Mails of the corpus that name no sender at all: MIME structure tests with no
# From, Reply-To, Sender or Return-Path header, and one whose From has no domain.
WITHOUT_SENDER = {
    *(f"malformed/malformed/{n:03}.eml" for n in (*range(15), 16, 18, 19)),
    *(f"malformed/thirdparty/{n:03}.eml" for n in (*range(8), 9, 10, 13)),
}
_HANDLER = re.compile(r"<[^>]*\son\w+\s*=", re.IGNORECASE)


def _part_payload_hashes(raw: bytes) -> set[str]:
    """sha256 of every leaf part's decoded payload, read by the stdlib's modern
    policy on its own."""
    hashes = set()
    for part in email.message_from_bytes(raw, policy=policy.default).walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                hashes.add(hashlib.sha256(payload).hexdigest())
    return hashes


@pytest.mark.parametrize("name", CORPUS_MAILS)
def test_every_corpus_mail_is_ingested_without_an_error(corpus_dir, teams, name):
    raw = (corpus_dir / "email" / name).read_bytes()
    expected = parse_email(raw)

    record = receive_mail(raw)

    event = event_of(record)
    assert event.external_id == expected.external_id
    assert event.channel == "email"
    assert (event.sender_identity.value == UNKNOWN_SENDER) == (name in WITHOUT_SENDER)
    if expected.automated:
        assert event.kind == TimelineEvent.Kind.SYSTEM
        assert event.ticket is None  # nothing here to answer: no ticket opened
    else:
        assert event.kind == TimelineEvent.Kind.MESSAGE_IN
        assert event.ticket is not None
    # Nothing lost on the way: the text, and every attachment with its bytes.
    assert (event.text, event.quoted_text) == (expected.text, expected.quoted_text)
    stored = list(event.attachments.all())
    assert [(a.name, a.content_type) for a in stored] == [
        (a.name, a.content_type) for a in expected.attachments
    ]
    payloads = _part_payload_hashes(raw)
    for attachment, part in zip(stored, expected.attachments, strict=True):
        assert bytes(attachment.data) == part.content
        assert attachment.sha256 == hashlib.sha256(bytes(attachment.data)).hexdigest()
        if not part.content_type.startswith("message/"):
            assert attachment.sha256 in payloads
    assert "<script" not in event.html.lower()
    assert not _HANDLER.search(event.html)


def test_only_mails_without_any_sender_go_to_the_unknown_sender(corpus_dir):
    unknown = set()
    for name in CORPUS_MAILS:
        message = parse_email((corpus_dir / "email" / name).read_bytes())
        if message.identities[0].value == UNKNOWN_SENDER:
            unknown.add(name)
            assert "names no sender" in message.metadata["notes"][0]

    assert unknown == WITHOUT_SENDER


@pytest.mark.parametrize("name", CLIENT_REPLIES)
def test_the_new_text_of_each_client_reply_is_kept_apart_from_its_quote(
    corpus_dir, teams, name
):
    path = corpus_dir / "email" / name
    answer = path.with_name(path.stem + "_reply_text")
    expected = answer.read_text().strip() if answer.exists() else "Hello"

    event = event_of(receive_mail(path.read_bytes()))

    assert event.text == expected
    assert event.quoted_text
    assert expected not in event.quoted_text or expected == "Hello"


def test_the_corpus_has_every_client_reply(corpus_dir):
    assert len(CLIENT_REPLIES) == 12


@pytest.mark.parametrize(
    "name",
    [
        "auto_reply.eml",
        "auto_reply_with_auto_submitted.eml",
        "bounced_gmail.eml",
        "bounced_with_no_from.eml",
        "non_utf_encoded_mail.eml",
    ],
)
def test_auto_replies_and_bounces_never_open_a_ticket(corpus_dir, teams, name):
    event = event_of(
        receive_mail((corpus_dir / "email/desk-fixtures" / name).read_bytes())
    )

    assert event.kind == TimelineEvent.Kind.SYSTEM
    assert event.ticket is None
    assert not Ticket.objects.exists()
    assert event.metadata["automated"]
