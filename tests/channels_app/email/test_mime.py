"""Decoding what mail clients write: charsets, encoded words, parts and files."""

import base64
from email.message import EmailMessage

import pytest

from channels_app.email.parse import parse_email
from tests.channels_app.email.mail_support import corpus, raw_mail

pytestmark = pytest.mark.django_db


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

    assert parse_email(raw).text == "Frösche"


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
