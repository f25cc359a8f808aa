"""Mail in through providers' inbound webhooks (django-anymail's views): a signed or
authenticated post is stored raw and becomes a ticket; anything else is refused and
leaves nothing behind; a retried post changes nothing."""

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import timedelta
from email.parser import BytesHeaderParser

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client, TestCase

from channels_app.email.raw import message_id_of
from channels_app.models import InboundRecord, Inbox
from tests.channels_app.email.sns_support import CERT_PATH, now_stamp
from tests.provider_server import Reply
from tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db

SIGNING_KEY = "mailgun-signing-key"
BASIC_AUTH = "anymail:hook-secret"

MAILGUN_URL = "/anymail/mailgun/inbound_mime/"
MAILGUN_PARSED_URL = "/anymail/mailgun/inbound/"
POSTMARK_URL = "/anymail/postmark/inbound/"
SENDGRID_URL = "/anymail/sendgrid/inbound/"
SES_URL = "/anymail/amazon_ses/inbound/"


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    settings.ANYMAIL = {
        "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
        "WEBHOOK_SECRET": BASIC_AUTH,
    }
    settings.ANYMAIL_INBOUND_INBOX = "mail"
    return settings


@pytest.fixture
def inbox(teams) -> Inbox:
    return Inbox.objects.create(adapter=Inbox.Adapter.EMAIL, name="Mail", slug="mail")


@pytest.fixture
def raw_mail(corpus_dir) -> bytes:
    return (corpus_dir / "email" / "desk-fixtures" / "only_text.eml").read_bytes()


def auth(credentials: str = BASIC_AUTH) -> dict:
    token = base64.b64encode(credentials.encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def post(url: str, data, **extra):
    """Post as the provider would; tasks queued on commit run."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post(url, data, **extra)


def mailgun_form(
    raw: bytes, key: str = SIGNING_KEY, *, age: timedelta = timedelta(), **fields
) -> dict:
    """Mailgun's form, signed `age` ago."""
    timestamp = str(int(time.time() - age.total_seconds()))
    token = uuid.uuid4().hex
    signature = hmac.new(
        key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    return {
        "recipient": "support@desk.example",
        "sender": "customer@example.com",
        "body-mime": raw.decode(),
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
        **fields,
    }


def postmark_json(raw: bytes) -> str:
    return json.dumps(
        {
            "FromFull": {"Email": "sony@chatwoot.com", "Name": "Sony"},
            "ToFull": [{"Email": "support@desk.example", "Name": ""}],
            "Subject": "Only text",
            "MessageID": str(uuid.uuid4()),
            "Headers": [],
            "RawEmail": raw.decode(),
        }
    )


def ses_event(raw: bytes) -> dict:
    """SES's notification of a received mail, the mail base64 inside."""
    return {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2024-05-01T10:00:00.000Z",
            "source": "customer@example.com",
            "messageId": "ses-message-1",
            "destination": ["support@desk.example"],
        },
        "receipt": {
            "recipients": ["support@desk.example"],
            "spamVerdict": {"status": "PASS"},
            "action": {
                "type": "SNS",
                "topicArn": "arn:aws:sns:x",
                "encoding": "BASE64",
            },
        },
        "content": base64.b64encode(raw).decode(),
    }


def message_id(raw: bytes) -> str:
    return message_id_of(BytesHeaderParser().parsebytes(raw)["Message-ID"])


def assert_became_a_ticket(raw: bytes, *, exact: bool = True) -> InboundRecord:
    record = InboundRecord.objects.get(channel="email")
    assert record.external_id == message_id(raw)
    assert record.inbox == "mail"
    if exact:
        assert bytes(record.payload) == raw
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    event = TimelineEvent.objects.get(pk=record.event_ids[0])
    assert event.channel == "email" and event.kind == TimelineEvent.Kind.MESSAGE_IN
    assert event.ticket is not None
    assert event.sender_identity.value == "text@example.com"
    return record


def test_a_signed_mailgun_post_becomes_a_ticket(inbox, raw_mail):
    """Mailgun's raw MIME, signed with the signing key, is stored as it came."""
    response = post(MAILGUN_URL, mailgun_form(raw_mail), **auth())

    assert response.status_code == 200
    assert_became_a_ticket(raw_mail)


def test_a_parsed_mailgun_post_becomes_a_ticket(inbox, raw_mail):
    """Without raw MIME, the mail anymail rebuilds from Mailgun's fields is stored."""
    form = mailgun_form(raw_mail)
    del form["body-mime"]
    form.update(
        {
            "from": "Sony <sony@chatwoot.com>",
            "To": "support@desk.example",
            "subject": "Parsed by Mailgun",
            "body-plain": "Where is my order?",
            "message-headers": json.dumps(
                [
                    ["From", "Sony <sony@chatwoot.com>"],
                    ["To", "support@desk.example"],
                    ["Subject", "Parsed by Mailgun"],
                    ["Message-Id", "<parsed-1@chatwoot.com>"],
                ]
            ),
        }
    )

    response = post(MAILGUN_PARSED_URL, form, **auth())

    assert response.status_code == 200
    record = InboundRecord.objects.get(channel="email")
    assert record.external_id == "<parsed-1@chatwoot.com>"
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    event = TimelineEvent.objects.get(pk=record.event_ids[0])
    assert event.subject == "Parsed by Mailgun"
    assert "Where is my order?" in event.text


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"signature": "0" * 64}, id="wrong signature"),
        pytest.param({"timestamp": "1"}, id="signature over another timestamp"),
        pytest.param({"signature": None}, id="no signature"),
    ],
)
def test_a_badly_signed_mailgun_post_is_refused(inbox, raw_mail, change):
    """A Mailgun post without a valid signature is refused and stores nothing."""
    form = {**mailgun_form(raw_mail), **change}
    form = {name: value for name, value in form.items() if value is not None}

    response = post(MAILGUN_URL, form, **auth())

    assert response.status_code == 400
    assert not InboundRecord.objects.exists()


def test_a_mailgun_post_signed_with_another_key_is_refused(inbox, raw_mail):
    """A signature made with someone else's key does not pass."""
    response = post(MAILGUN_URL, mailgun_form(raw_mail, key="other-key"), **auth())

    assert response.status_code == 400
    assert not InboundRecord.objects.exists()


def test_a_mailgun_post_without_basic_auth_is_refused(inbox, raw_mail):
    """A correct signature is not enough without the webhook secret."""
    response = post(MAILGUN_URL, mailgun_form(raw_mail))

    assert response.status_code == 400
    assert not InboundRecord.objects.exists()


def test_a_postmark_post_becomes_a_ticket(inbox, raw_mail):
    """Postmark's RawEmail is stored as it came."""
    response = post(
        POSTMARK_URL, postmark_json(raw_mail), content_type="application/json", **auth()
    )

    assert response.status_code == 200
    assert_became_a_ticket(raw_mail)


def test_a_postmark_post_without_raw_email_becomes_a_ticket(inbox):
    """Postmark's parsed fields alone make a mail too."""
    payload = {
        "FromFull": {"Email": "sony@chatwoot.com", "Name": "Sony"},
        "ToFull": [{"Email": "support@desk.example", "Name": ""}],
        "Subject": "Parsed by Postmark",
        "TextBody": "My parcel never came.",
        "Headers": [{"Name": "Message-ID", "Value": "<pm-1@chatwoot.com>"}],
        "Attachments": [],
    }

    response = post(
        POSTMARK_URL, json.dumps(payload), content_type="application/json", **auth()
    )

    assert response.status_code == 200
    record = InboundRecord.objects.get(channel="email")
    assert record.external_id == "<pm-1@chatwoot.com>"
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    event = TimelineEvent.objects.get(pk=record.event_ids[0])
    assert (event.subject, event.text) == (
        "Parsed by Postmark",
        "My parcel never came.",
    )


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no basic auth"),
        pytest.param(auth("anymail:wrong"), id="wrong basic auth"),
    ],
)
def test_an_unauthenticated_postmark_post_is_refused(inbox, raw_mail, headers):
    """Postmark posts must carry the webhook secret."""
    response = post(
        POSTMARK_URL,
        postmark_json(raw_mail),
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 400
    assert not InboundRecord.objects.exists()


def test_a_sendgrid_raw_post_becomes_a_ticket(inbox, raw_mail):
    """SendGrid's "send raw" MIME is stored as it came."""
    form = {
        "email": raw_mail.decode(),
        "envelope": json.dumps(
            {"from": "sony@chatwoot.com", "to": ["support@desk.example"]}
        ),
        "charsets": json.dumps({"email": "utf-8"}),
    }

    response = post(SENDGRID_URL, form, **auth())

    assert response.status_code == 200
    assert_became_a_ticket(raw_mail)


def test_an_unauthenticated_sendgrid_post_is_refused(inbox, raw_mail):
    response = post(SENDGRID_URL, {"email": raw_mail.decode()}, **auth("x:y"))

    assert response.status_code == 400
    assert not InboundRecord.objects.exists()


def test_an_amazon_ses_notification_becomes_a_ticket(inbox, raw_mail, fake_sns):
    """SES's mail, base64 in a signed SNS notification, is stored as it came."""
    body, headers = fake_sns.notification(ses_event(raw_mail))

    response = post(SES_URL, body, content_type="text/plain", **headers, **auth())

    assert response.status_code == 200
    assert_became_a_ticket(raw_mail)


def test_an_amazon_ses_notification_without_basic_auth_is_refused(
    inbox, raw_mail, fake_sns
):
    """SNS is asked for its credentials first (401); a wrong secret gets 400."""
    body, headers = fake_sns.notification(ses_event(raw_mail))

    first = post(SES_URL, body, content_type="text/plain", **headers)
    wrong = post(SES_URL, body, content_type="text/plain", **headers, **auth("a:b"))

    assert (first.status_code, wrong.status_code) == (401, 400)
    assert not InboundRecord.objects.exists()


def test_an_sns_post_whose_headers_disagree_with_its_body_is_refused(
    inbox, raw_mail, fake_sns
):
    """The SNS message type and id headers must match the notification they carry."""
    body, headers = fake_sns.notification(ses_event(raw_mail))
    headers["HTTP_X_AMZ_SNS_MESSAGE_ID"] = "another-id"

    response = post(SES_URL, body, content_type="text/plain", **headers, **auth())

    assert response.status_code == 400
    assert not InboundRecord.objects.exists()


def test_the_same_post_twice_stores_one_record(inbox, raw_mail):
    """A provider's retry changes nothing: one record, one event."""
    form = mailgun_form(raw_mail)

    responses = [post(MAILGUN_URL, form, **auth()) for _ in range(2)]

    assert [r.status_code for r in responses] == [200, 200]
    assert InboundRecord.objects.count() == 1
    assert TimelineEvent.objects.filter(channel="email").count() == 1


def test_the_same_mail_through_two_providers_is_stored_once(inbox, raw_mail):
    """One Message-ID is one mail, whichever provider delivered it."""
    post(MAILGUN_URL, mailgun_form(raw_mail), **auth())
    post(
        POSTMARK_URL, postmark_json(raw_mail), content_type="application/json", **auth()
    )

    assert InboundRecord.objects.count() == 1


def test_a_mail_over_the_size_limit_is_recorded_with_a_note(
    inbox, corpus_dir, anymail_settings
):
    """A mail too large to store leaves its headers and a visible note."""
    path = corpus_dir / "email" / "desk-fixtures" / "multiple_attachments.eml"
    raw = path.read_bytes()
    anymail_settings.MAX_INBOUND_PAYLOAD_BYTES = 2000
    assert len(raw) > anymail_settings.MAX_INBOUND_PAYLOAD_BYTES

    response = post(MAILGUN_URL, mailgun_form(raw), **auth())

    assert response.status_code == 200
    record = InboundRecord.objects.get(channel="email")
    assert record.external_id == message_id(raw)
    assert b"X-Desk-Oversized" in bytes(record.payload)
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    event = TimelineEvent.objects.get(pk=record.event_ids[0])
    assert "over the 2000-byte limit" in event.text and "Mailgun" in event.text


def fresh_settings(monkeypatch, **environ):
    """The settings module as it reads a given environment, loaded apart from the
    settings this process runs with."""
    import importlib.util

    import supportdesk.settings

    for name, value in environ.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(
        "fresh_settings", supportdesk.settings.__file__
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unconfigured_doors_refuse_everything(
    inbox, raw_mail, anymail_settings, monkeypatch
):
    """Without a webhook secret and a signing key configured, nothing gets in."""
    unconfigured = fresh_settings(
        monkeypatch, ANYMAIL_WEBHOOK_SECRET=None, MAILGUN_WEBHOOK_SIGNING_KEY=None
    )
    anymail_settings.ANYMAIL = unconfigured.ANYMAIL
    guesses = [
        post(MAILGUN_URL, mailgun_form(raw_mail, key=""), **auth("anymail:")),
        post(
            POSTMARK_URL,
            postmark_json(raw_mail),
            content_type="application/json",
            **auth(":"),
        ),
    ]

    assert [r.status_code for r in guesses] == [400, 400]
    assert not InboundRecord.objects.exists()


def test_configured_secrets_come_from_the_environment(monkeypatch):
    """ANYMAIL_WEBHOOK_SECRET (comma-separated) and MAILGUN_WEBHOOK_SIGNING_KEY."""
    configured = fresh_settings(
        monkeypatch,
        ANYMAIL_WEBHOOK_SECRET="desk:one,desk:two",
        MAILGUN_WEBHOOK_SIGNING_KEY="key-1",
    )

    assert configured.ANYMAIL == {
        "WEBHOOK_SECRET": ["desk:one", "desk:two"],
        "MAILGUN_WEBHOOK_SIGNING_KEY": "key-1",
    }


# ------------------------------------------------------ SNS signatures (SES)


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_notification_signed_by_sns_is_accepted(inbox, raw_mail, fake_sns, version):
    """SignatureVersion 1 (SHA-1) and 2 (SHA-256) are both SNS's."""
    body, headers = fake_sns.notification(ses_event(raw_mail), version=version)

    response = post(SES_URL, body, content_type="text/plain", **headers, **auth())

    assert response.status_code == 200, response.content
    assert_became_a_ticket(raw_mail)


def forged(fake_sns, raw_mail, how: str) -> tuple[str, dict]:
    body, headers = fake_sns.notification(ses_event(raw_mail))
    message = json.loads(body)
    if how == "unsigned":
        del message["Signature"]
    elif how == "another key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        message = fake_sns.sign(message, key=other)
    elif how == "message changed":
        event = json.loads(message["Message"])
        event["content"] = base64.b64encode(b"From: mallory@example.com\n\nHi").decode()
        message["Message"] = json.dumps(event)
    elif how == "signed as version 1, sent as 2":
        message["SignatureVersion"] = "2"
    elif how == "unknown version":
        message["SignatureVersion"] = "3"
    elif how == "signature not base64":
        message["Signature"] = "not base64!"
    return json.dumps(message), headers


@pytest.mark.parametrize(
    "how",
    [
        "unsigned",
        "another key",
        "message changed",
        "signed as version 1, sent as 2",
        "unknown version",
        "signature not base64",
    ],
)
def test_a_forged_sns_notification_is_refused_and_stores_nothing(
    inbox, raw_mail, fake_sns, how
):
    """Basic auth alone no longer lets a notification in: SNS must have signed
    exactly what came."""
    body, headers = forged(fake_sns, raw_mail, how)

    response = post(SES_URL, body, content_type="text/plain", **headers, **auth())

    assert response.status_code == 400
    assert not InboundRecord.objects.exists()


def test_a_certificate_from_a_host_not_allowed_is_never_fetched(
    inbox, raw_mail, fake_sns
):
    """A message pointing at a certificate elsewhere is refused before the desk
    fetches anything, even when signed with that certificate's key."""
    elsewhere = fake_sns.cert_url.replace("127.0.0.1", "localhost")
    body, headers = fake_sns.notification(ses_event(raw_mail), SigningCertURL=elsewhere)

    response = post(SES_URL, body, content_type="text/plain", **headers, **auth())

    assert response.status_code == 400
    assert fake_sns.certificate_fetches() == 0
    assert not InboundRecord.objects.exists()


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-a1.pem", True),
        ("https://sns.cn-north-1.amazonaws.com.cn/cert-b.pem", True),
        ("http://sns.us-east-1.amazonaws.com/SimpleNotificationService-a1.pem", False),
        ("https://sns.us-east-1.amazonaws.com.evil.example/cert.pem", False),
        ("https://sns.us-east-1.amazonaws.com@evil.example/cert.pem", False),
        ("https://evil.example/sns.us-east-1.amazonaws.com/cert.pem", False),
        ("https://s3.amazonaws.com/cert.pem", False),
    ],
)
def test_only_amazons_sns_hosts_are_trusted_by_default(url, allowed, monkeypatch):
    """The default SNS_CERT_URL_PATTERN: https, sns.<region>.amazonaws.com."""
    default = fresh_settings(monkeypatch, SNS_CERT_URL_PATTERN=None)

    assert bool(re.fullmatch(default.SNS_CERT_URL_PATTERN, url)) is allowed


def test_the_signing_certificate_is_fetched_once_and_kept(inbox, fake_sns, corpus_dir):
    """Two notifications under one certificate: one fetch."""
    for name in ("only_text.eml", "in_reply_to.eml"):
        raw = (corpus_dir / "email" / "desk-fixtures" / name).read_bytes()
        body, headers = fake_sns.notification(ses_event(raw))
        response = post(SES_URL, body, content_type="text/plain", **headers, **auth())
        assert response.status_code == 200, response.content

    assert InboundRecord.objects.count() == 2
    assert fake_sns.certificate_fetches() == 1


def test_an_old_sns_notification_is_refused_as_a_replay(inbox, raw_mail, fake_sns):
    """Genuinely signed, but sent longer ago than SNS goes on retrying."""
    body, headers = fake_sns.notification(
        ses_event(raw_mail), Timestamp=now_stamp(-timedelta(hours=3))
    )

    response = post(SES_URL, body, content_type="text/plain", **headers, **auth())

    assert response.status_code == 400
    assert not InboundRecord.objects.exists()


def test_an_unreachable_certificate_asks_sns_to_retry(inbox, raw_mail, fake_sns):
    """The certificate's host failing is not the sender's fault: 503, so SNS
    delivers again later, and nothing is stored meanwhile."""
    fake_sns.server.route("GET", CERT_PATH, Reply(status=500, body=b"down"))
    body, headers = fake_sns.notification(ses_event(raw_mail))

    response = post(SES_URL, body, content_type="text/plain", **headers, **auth())

    assert response.status_code == 503
    assert response["Retry-After"]
    assert not InboundRecord.objects.exists()


# ------------------------------------------------------ Mailgun's timestamp


@pytest.mark.parametrize(
    "age",
    [
        pytest.param(timedelta(days=3), id="three days old"),
        pytest.param(timedelta(minutes=6), id="past the tolerance"),
        pytest.param(-timedelta(minutes=10), id="from the future"),
    ],
)
def test_a_correctly_signed_but_stale_mailgun_post_is_refused(inbox, raw_mail, age):
    response = post(MAILGUN_URL, mailgun_form(raw_mail, age=age), **auth())

    assert response.status_code == 400
    assert not InboundRecord.objects.exists()


def test_a_mailgun_post_signed_within_the_tolerance_is_accepted(inbox, raw_mail):
    """Clocks differ and requests queue: four minutes is still fresh."""
    response = post(
        MAILGUN_URL, mailgun_form(raw_mail, age=timedelta(minutes=4)), **auth()
    )

    assert response.status_code == 200
    assert_became_a_ticket(raw_mail)


# ----------------------------------------------------------- malformed JSON

DEEP_JSON = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize(
    ("url", "content_type"),
    [
        pytest.param(SES_URL, "text/plain", id="Amazon SES"),
        pytest.param(POSTMARK_URL, "application/json", id="Postmark"),
        pytest.param(MAILGUN_PARSED_URL, "application/json", id="Mailgun"),
    ],
)
def test_deeply_nested_json_gets_a_400_json_error(inbox, url, content_type):
    response = post(url, DEEP_JSON, content_type=content_type, **auth())

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"
    assert "nested deeper than" in response.json()["message"]
    assert not InboundRecord.objects.exists()


def test_an_sns_body_that_is_not_json_gets_a_400_not_a_500(inbox):
    response = post(SES_URL, "{not json", content_type="text/plain", **auth())

    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"
