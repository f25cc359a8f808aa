import base64
import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from django.test import override_settings

from channels_app.email.parse import UNKNOWN_SENDER, mail_message_id, parse_email
from channels_app.email.tokens import reply_address
from channels_app.models import Inbox

pytestmark = pytest.mark.django_db


def raw_mail(*headers: str, body: str | bytes = "Hello", charset: str = "") -> bytes:
    """A mail written byte for byte: headers as given, then the body."""
    lines = list(headers)
    if charset:
        lines.append(f"Content-Type: text/plain; charset={charset}")
    head = "\r\n".join(lines).encode("utf-8") + b"\r\n\r\n"
    return head + (body.encode("utf-8") if isinstance(body, str) else body)


def corpus(corpus_dir, name: str) -> bytes:
    return (corpus_dir / "email" / name).read_bytes()


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


# ------------------------------------------------------------------- decoding


def test_encoded_words_in_subject_and_names_are_decoded():
    # "Größe ✓" in UTF-8 split mid-character across two encoded words.
    encoded = base64.b64encode("Größe ✓".encode()).decode()
    first, second = encoded[:8], encoded[8:]
    raw = raw_mail(
        "From: =?iso-8859-1?Q?J=F6rg_M=FCller?= <jorg@example.com>",
        f"Subject: =?utf-8?B?{first}?=\r\n =?utf-8?B?{second}?= [#12]",
    )

    message = parse_email(raw)

    assert message.sender_name == "Jörg Müller"
    assert message.subject == "Größe ✓ [#12]"


def test_raw_8bit_headers_are_read_as_utf8_or_as_a_legacy_charset(corpus_dir):
    utf8 = parse_email(raw_mail("From: Zoë <zoe@example.com>", "Subject: Café ☕"))
    latin = parse_email(corpus(corpus_dir, "malformed/legacy/010.eml"))

    assert (utf8.sender_name, utf8.subject) == ("Zoë", "Café ☕")
    assert latin.subject == "Die Hasen und die Frösche"
    assert latin.text.startswith("Die Hasen und die Frösche")


def test_bodies_in_utf16_and_euc_jp_from_the_corpus_decode(corpus_dir):
    # The corpus mail names no sender; one is put in front to read its body.
    raw = b"From: ana@example.com\r\n" + corpus(
        corpus_dir, "malformed/thirdparty/005.eml"
    )

    text = parse_email(raw).text

    assert text.count("Test message") == 3
    assert "『世界人権宣言』" in text


def test_a_body_whose_bytes_do_not_fit_its_charset_falls_back_to_windows_1252():
    raw = raw_mail(
        "From: ana@example.com", body="Fr\xf6sche".encode("cp1252"), charset="utf-8"
    )

    assert parse_email(raw).text == "Fröschе".replace("е", "e")


def test_an_unknown_charset_label_falls_back_to_utf8():
    raw = raw_mail("From: ana@example.com", body="naïve", charset="x-no-such-charset")

    assert parse_email(raw).text == "naïve"


def test_nul_characters_never_reach_the_text():
    raw = raw_mail("From: ana@example.com", body=b"bin\x00ary")

    assert parse_email(raw).text == "binary"


def test_flowed_text_is_joined_again():
    raw = raw_mail(
        "From: ana@example.com",
        body="This line was \r\nwrapped by the client.\r\n\r\n"
        "> quoted and \r\n> wrapped\r\n",
        charset="utf-8; format=flowed",
    )

    assert parse_email(raw).text == "This line was wrapped by the client."


def test_utf7_mail_from_the_corpus_reads_without_error(corpus_dir):
    message = parse_email(corpus(corpus_dir, "malformed/legacy/034.eml"))

    assert message.identities[0].value == "dwsauder@example.com"
    assert message.text.startswith("Die Hasen und die")


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


# ---------------------------------------------------------------- attachments


def test_attachments_keep_their_bytes_names_and_types():
    pdf, sheet = b"%PDF-1.4 fake", b"a,b\n1,2\n"
    mail = EmailMessage()
    mail["From"] = "ana@example.com"
    mail.set_content("Two files")
    mail.add_attachment(pdf, maintype="application", subtype="pdf", filename="bill.pdf")
    mail.add_attachment(sheet, maintype="text", subtype="csv", filename="Größe.csv")

    message = parse_email(mail.as_bytes())

    assert message.text == "Two files"
    assert [
        (a.name, a.content_type, a.content, a.inline) for a in message.attachments
    ] == [
        ("bill.pdf", "application/pdf", pdf, False),
        ("Größe.csv", "text/csv", sheet, False),
    ]


def test_inline_images_keep_their_content_id(corpus_dir):
    message = parse_email(
        corpus(corpus_dir, "desk-fixtures/mail_with_inline_images.eml")
    )

    images = [(a.name, a.content_id, a.inline) for a in message.attachments]
    assert images == [
        ("poster (8).jpg", "ii_lm7fuura0", True),
        ("poster (7).jpg", "ii_lm7fuuvm1", True),
        ("poster (1).jpg", "ii_lm7fuuwn2", True),
    ]
    assert 'src="cid:ii_lm7fuura0"' in message.html


def test_an_attachment_with_a_content_id_but_attachment_disposition_is_not_inline(
    corpus_dir,
):
    message = parse_email(corpus(corpus_dir, "desk-fixtures/reply.eml"))

    avatar = message.attachments[0]
    assert (avatar.name, avatar.content_id, avatar.inline) == (
        "avatar1.jpeg",
        "7AAEB353-2341-4D46-A054-5CA5CB2363B7",
        False,
    )
    assert avatar.content[:3] == b"\xff\xd8\xff"  # a JPEG


def test_attachments_without_a_filename_get_one_from_their_type(corpus_dir):
    message = parse_email(
        corpus(corpus_dir, "desk-fixtures/attachments_without_filename.eml")
    )

    assert [a.name for a in message.attachments] == ["image-1.png", "image-2.png"]


def test_filenames_in_rfc2231_and_with_folders_are_cleaned():
    mail = EmailMessage()
    mail["From"] = "ana@example.com"
    mail.set_content("Files")
    mail.add_attachment(b"1", maintype="text", subtype="plain", filename="Frösche.txt")
    mail.add_attachment(
        b"2",
        maintype="application",
        subtype="octet-stream",
        filename="C:\\Users\\ana\\report.bin",
    )

    names = [a.name for a in parse_email(mail.as_bytes()).attachments]

    assert names == ["Frösche.txt", "report.bin"]


# ----------------------------------------------------------- automated mail


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
    inbox = Inbox(adapter="email", slug="help", config={"address": "help@desk.example"})

    message = parse_email(raw_mail("From: Help <HELP@desk.example>"), inbox=inbox)

    assert message.automated


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
