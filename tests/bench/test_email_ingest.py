from email import message_from_bytes

from channels_app.email.parse import mail_message_id
from tests.bench.email_ingest import corpus_mails, with_message_id, write_batch

FOLDED = (
    b"From: Ann <ann@example.org>\n"
    b"Message-ID:\n"
    b" <original@example.org>\n"
    b"Subject: Help\n"
    b"\n"
    b"Message-ID: <in-the-body@example.org>\n"
)


def test_every_corpus_mail_carries_the_new_message_id_and_no_other(corpus_dir):
    mails = corpus_mails(corpus_dir)
    assert len(mails) == 148
    for number, raw in enumerate(mails):
        rewritten = with_message_id(raw, f"<copy-{number}@bench.invalid>")
        assert mail_message_id(rewritten) == f"<copy-{number}@bench.invalid>"
        headers = message_from_bytes(rewritten)
        assert headers.get_all("Message-ID") == [f"<copy-{number}@bench.invalid>"]


def test_a_folded_message_id_is_replaced_whole_and_the_body_is_untouched():
    rewritten = with_message_id(FOLDED, "<new@bench.invalid>")
    assert rewritten == (
        b"Message-ID: <new@bench.invalid>\n"
        b"From: Ann <ann@example.org>\n"
        b"Subject: Help\n"
        b"\n"
        b"Message-ID: <in-the-body@example.org>\n"
    )


def test_a_message_id_that_ends_the_headers_leaves_one_blank_line_before_the_body():
    raw = b"Subject: Hi\nMessage-Id: <old@example.org>\n\nHello\n"
    rewritten = with_message_id(raw, "<new@bench.invalid>")
    assert rewritten == b"Message-ID: <new@bench.invalid>\nSubject: Hi\n\nHello\n"


def test_a_mail_without_a_message_id_gets_one_in_its_own_line_endings():
    raw = b"From: ann@example.org\r\nSubject: Hi\r\n\r\nHello\r\n"
    rewritten = with_message_id(raw, "<new@bench.invalid>")
    assert rewritten == b"Message-ID: <new@bench.invalid>\r\n" + raw


def test_a_batch_cycles_through_the_mails_each_under_an_id_of_its_own(tmp_path):
    mails = [b"Subject: one\n\nfirst\n", b"Subject: two\n\nsecond\n"]
    ids = write_batch(mails, count=5, prefix="run", directory=tmp_path / "batch")
    files = sorted((tmp_path / "batch").iterdir())
    assert len(set(ids)) == len(files) == 5
    assert [mail_message_id(f.read_bytes()) for f in files] == ids
    assert [f.read_bytes().endswith(b"first\n") for f in files] == [
        True,
        False,
        True,
        False,
        True,
    ]
