import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from django.test import override_settings

from channels_app.email.parse import UNKNOWN_SENDER, mail_message_id, parse_email
from channels_app.email.tokens import reply_address
from tests.channels_app.email.mail_support import corpus, raw_mail

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ the basics


def test_a_mail_becomes_an_email_message_from_its_sender():
    mail = EmailMessage()
    mail["From"] = "Ana Lima <Ana.Lima@Example.com>"
    mail["To"] = "help@desk.example"
    mail["Subject"] = "Printer on fire"
    mail["Date"] = "Tue, 03 Apr 2012 16:19:00 +0200"
    mail["Message-ID"] = "<abc.123@mail.example.com>"
    mail.set_content("It is really on fire.")

    message = parse_email(mail.as_bytes())

    assert message.channel == "email"
    assert message.external_id == "<abc.123@mail.example.com>"
    assert [(c.kind, c.value) for c in message.identities] == [
        ("email", "ana.lima@example.com")
    ]
    assert message.sender_name == "Ana Lima"
    assert message.subject == "Printer on fire"
    assert message.text == "It is really on fire."
    assert message.occurred_at == datetime(2012, 4, 3, 14, 19, tzinfo=UTC)
    assert message.continues_open_conversation is False
    assert message.conversation_key == ""
    assert not message.automated
    assert message.metadata["to"] == ["help@desk.example"]
    assert message.metadata["message_id"] == "<abc.123@mail.example.com>"


def test_a_mail_without_message_id_is_known_by_the_hash_of_its_bytes():
    raw = raw_mail("From: ana@example.com", "Subject: No id")

    message = parse_email(raw)

    assert message.external_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert message.metadata["message_id"] == ""
    assert mail_message_id(raw) == ""


def test_message_ids_are_spelt_one_way_with_angle_brackets():
    raw = raw_mail(
        "From: ana@example.com",
        "Message-ID:   < spaced@example.com >",
        "In-Reply-To: <first@example.com>\r\n  <second@example.com>",
        "References: <root@example.com> <first@example.com>",
    )

    message = parse_email(raw)

    assert message.external_id == "<spaced@example.com>"
    assert mail_message_id(raw) == "<spaced@example.com>"
    assert message.replies_to == (
        "<first@example.com>",
        "<second@example.com>",
        "<root@example.com>",
    )
    assert message.metadata["in_reply_to"] == [
        "<first@example.com>",
        "<second@example.com>",
    ]
    assert message.metadata["references"] == [
        "<root@example.com>",
        "<first@example.com>",
    ]


def test_several_in_reply_to_ids_from_the_corpus_are_all_kept(corpus_dir):
    message = parse_email(corpus(corpus_dir, "desk-fixtures/multiple_in_reply_to.eml"))

    assert set(message.replies_to) >= {
        "<4e6e35f5a38b4_479f13bb90078171@small-app-01.mail>",
        "<4e6e35f5a38b4_479f13bb90078131@small-app-01.mail>",
        "<4e6e35f5a38b4_479f13bb90078178@small-app-01.mail>",
    }


def test_a_message_id_too_long_to_store_stands_as_its_hash_everywhere():
    long_id = "x" * 300 + "@example.com"
    original = parse_email(
        raw_mail("From: ana@example.com", f"Message-ID: <{long_id}>")
    )
    reply = parse_email(raw_mail("From: bob@example.com", f"In-Reply-To: <{long_id}>"))

    assert original.external_id.startswith("msgid-sha256:")
    assert len(original.external_id) < 255
    assert reply.replies_to == (original.external_id,)


# --------------------------------------------------------------------- senders


def test_the_sender_falls_back_to_reply_to_then_sender_then_return_path():
    def sender(*headers):
        return parse_email(raw_mail(*headers)).identities[0].value

    assert sender(
        "From: broken", "Reply-To: r@example.com", "Sender: s@example.com"
    ) == ("r@example.com")
    assert sender("From: <moderator>", "Sender: s@example.com") == "s@example.com"
    assert sender("Return-Path: <bounce@example.com>") == "bounce@example.com"


def test_a_mail_naming_no_sender_is_filed_under_the_unknown_sender_with_a_note():
    message = parse_email(raw_mail("From: Moderator <moderator>", "Subject: Hi"))

    assert message.identities[0].value == UNKNOWN_SENDER
    assert message.sender_name == "Unknown sender"
    assert message.metadata["from"] == "Moderator <moderator>"
    assert "names no sender" in message.metadata["notes"][0]
    assert message.text == "Hello"


# ------------------------------------------------------------------ the bodies


def test_text_comes_from_the_html_when_there_is_no_text_part(corpus_dir):
    message = parse_email(corpus(corpus_dir, "desk-fixtures/only_html.eml"))

    assert message.text == "This is html only mail"
    assert message.html


def test_html_is_sanitised_before_it_is_stored():
    mail = EmailMessage()
    mail["From"] = "ana@example.com"
    mail.set_content("Plain")
    mail.add_alternative(
        '<p onclick="steal()">Hi <a href="javascript:x()">there</a></p>'
        "<script>alert(1)</script><img src=x onerror=alert(2)>",
        subtype="html",
    )

    html = parse_email(mail.as_bytes()).html

    assert "Hi" in html
    for unsafe in ("<script", "onclick", "onerror", "javascript:", "alert"):
        assert unsafe not in html


def test_the_quoted_history_of_a_reply_is_kept_apart(corpus_dir):
    message = parse_email(corpus(corpus_dir, "client-replies/gmail.eml"))

    assert message.text == "Hello"
    assert message.quoted_text.startswith("On Mon, Apr 2, 2012 at 6:26 PM")
    assert message.quoted_text.endswith("> Hi")


def test_an_html_only_reply_has_its_blockquote_kept_apart():
    mail = EmailMessage()
    mail["From"] = "ana@example.com"
    mail.set_content(
        "<div>Thanks!</div><div>On Mon, Bob &lt;bob@example.com&gt; wrote:"
        "<blockquote>Did it work?</blockquote></div>",
        subtype="html",
    )

    message = parse_email(mail.as_bytes())

    assert message.text == "Thanks!"
    assert message.quoted_text.endswith("> Did it work?")


# ------------------------------------------------------------------ threading


def test_a_reply_address_with_a_valid_token_in_cc_names_its_ticket():
    token = reply_address(ticket_id=77)

    message = parse_email(
        raw_mail("From: ana@example.com", "To: bob@example.com", f"Cc: Help <{token}>")
    )

    assert message.ticket_token == 77


def test_a_forged_token_names_no_ticket():
    message = parse_email(
        raw_mail("From: ana@example.com", "To: support+t77-abcdefghij@desk.example")
    )

    assert message.ticket_token is None


def test_a_ticket_number_in_the_subject_is_passed_on():
    assert (
        parse_email(
            raw_mail("From: a@example.com", "Subject: Re: Help [#42]")
        ).subject_ticket
        == 42
    )
    assert (
        parse_email(
            raw_mail("From: a@example.com", "Subject: Order #42")
        ).subject_ticket
        is None
    )


# -------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "date",
    ["", "Date: yesterday-ish", "Date: Tue, 3 Apr 2999 16:19:00 +0000"],
)
def test_a_missing_invalid_or_far_future_date_is_left_out(date):
    headers = ["From: ana@example.com"] + ([date] if date else [])

    assert parse_email(raw_mail(*headers)).occurred_at is None


def test_a_date_without_a_zone_is_taken_as_utc():
    message = parse_email(
        raw_mail("From: a@example.com", "Date: Tue, 3 Apr 2012 16:19:00")
    )

    assert message.occurred_at == datetime(2012, 4, 3, 16, 19, tzinfo=UTC)


# -------------------------------------------------------------------- limits


@override_settings(MAX_EMAIL_BYTES=2000)
def test_a_mail_over_the_size_limit_keeps_its_headers_and_says_so():
    mail = EmailMessage()
    mail["From"] = "Ana <ana@example.com>"
    mail["Subject"] = "Big one"
    mail["Message-ID"] = "<big@example.com>"
    mail["In-Reply-To"] = "<earlier@desk.example>"
    mail.set_content("Look")
    mail.add_attachment(
        b"x" * 5000, maintype="application", subtype="zip", filename="a.zip"
    )
    raw = mail.as_bytes()

    message = parse_email(raw)

    assert message.text == (
        f"(This mail of {len(raw)} bytes is over the 2000-byte limit; "
        "its body was not stored.)"
    )
    assert message.attachments == ()
    assert (message.subject, message.external_id) == ("Big one", "<big@example.com>")
    assert message.replies_to == ("<earlier@desk.example>",)
    assert message.identities[0].value == "ana@example.com"


@override_settings(MAX_MESSAGE_TEXT_CHARS=100)
def test_text_over_the_limit_is_cut_with_a_note_and_long_html_is_left_out():
    mail = EmailMessage()
    mail["From"] = "ana@example.com"
    mail.set_content("word " * 100)
    mail.add_alternative("<p>" + "word " * 100 + "</p>", subtype="html")

    message = parse_email(mail.as_bytes())

    assert len(message.text) <= 100
    assert message.text.endswith("the mail is kept whole.)")
    assert message.html == ""
    assert len(message.metadata["notes"]) == 2
