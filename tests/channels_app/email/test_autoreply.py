"""Auto-replies, bounces and reports: what they are and whom they concern."""

from email.message import EmailMessage

import pytest

from channels_app.email.parse import parse_email
from channels_app.models import Inbox
from tests.channels_app.email.mail_support import corpus, raw_mail

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("header", "automated"),
    [
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: auto-generated; owner-email=x@example.com", True),
        ("Auto-Submitted: no", False),
        ("X-Autoreply: yes", True),
        ("X-Autorespond: Out of office", True),
        ("Precedence: bulk", True),
        ("Precedence: junk", True),
        ("Precedence: list", True),
        ("Precedence: first-class", False),
        ("Return-Path: <>", True),
        ("List-Id: <customers.example.com>", False),
    ],
)
def test_auto_reply_markers(header, automated):
    message = parse_email(raw_mail("From: ana@example.com", header))

    assert message.automated is automated
    assert ("automated" in message.metadata) is automated


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
def test_auto_replies_and_bounces_of_the_corpus_are_automated(corpus_dir, name):
    assert parse_email(corpus(corpus_dir, f"desk-fixtures/{name}")).automated


def test_a_bounce_belongs_to_the_address_that_could_not_be_reached(corpus_dir):
    message = parse_email(corpus(corpus_dir, "desk-fixtures/bounced_gmail.eml"))

    assert message.identities[0].value == "alex.jones@fictionalcorp.com"
    assert message.sender_name == ""
    assert message.metadata["from"] == (
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>"
    )
    # The returned mail names the message the bounce is about.
    assert (
        "<conversation/93775311-9416-4428-964b-862001f8a8b2/messages/27855337@gmail.com>"
        in message.replies_to
    )


def test_a_bounce_without_from_names_its_failed_recipient(corpus_dir):
    message = parse_email(corpus(corpus_dir, "desk-fixtures/bounced_with_no_from.eml"))

    assert message.automated
    assert message.identities[0].value == "noreply@example-service.com"
    assert message.metadata["bounced_recipients"] == ["noreply@example-service.com"]
    assert [a.name for a in message.attachments] == [
        "delivery-status-1.txt",
        "message-2.eml",
    ]


def test_a_read_receipt_is_automated_and_stays_with_its_sender():
    report = EmailMessage()
    report["From"] = "ana@example.com"
    report.set_content("Your message was displayed.")
    fields = EmailMessage()
    fields["Original-Message-ID"] = "<reply-1@desk.example>"
    fields["Disposition"] = "manual-action/MDN-sent-manually; displayed"
    report.add_attachment(fields, disposition=None)
    report.replace_header(
        "Content-Type",
        'multipart/report; report-type="disposition-notification"; '
        f'boundary="{report.get_boundary()}"',
    )
    raw = report.as_bytes().replace(
        b"message/rfc822", b"message/disposition-notification"
    )

    message = parse_email(raw)

    assert message.automated
    assert message.identities[0].value == "ana@example.com"
    assert "<reply-1@desk.example>" in message.replies_to


def test_a_mail_from_the_inboxs_own_address_is_automated():
    inbox = Inbox(
        adapter="email", slug="help", config={"address": "Help <help@desk.example>"}
    )

    message = parse_email(raw_mail("From: Help <HELP@desk.example>"), inbox=inbox)

    assert message.automated
