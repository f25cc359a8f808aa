import pytest
from django.test import TestCase

from channels_app.ingest import process_inbound
from channels_app.models import InboundRecord, Inbox
from supportdesk.registry import get_webhook_adapter
from tests.channels_app.meta_support import post_webhook

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("adapter", ["chat", "email", "phone"])
def test_an_inbox_whose_adapter_takes_no_webhooks_has_no_door(client, adapter):
    """A chat, email or phone inbox is not found at /webhooks/: nothing is stored."""
    Inbox.objects.create(adapter=adapter, name="Front", slug="front")

    response = client.post(
        f"/webhooks/{adapter}/front/", b"{}", content_type="application/json"
    )

    assert response.status_code == 404
    assert not InboundRecord.objects.exists()


def test_a_timeline_channel_is_no_webhook_address(client):
    """Replies on the sms channel leave through the Twilio adapter, but only its
    own key, /webhooks/twilio-sms/, receives its webhooks."""
    assert get_webhook_adapter("sms") is None
    assert get_webhook_adapter("twilio-sms").key == "twilio-sms"

    response = client.post("/webhooks/sms/front/", {"Body": "hi"})

    assert response.status_code == 404


def test_every_provider_inbox_has_a_webhook_door():
    """Each provider that pushes to the desk is reachable at its own key."""
    for key in (
        "whatsapp",
        "messenger",
        "instagram",
        "telegram",
        "twilio-sms",
        "twilio-voice",
    ):
        assert get_webhook_adapter(key) is not None, key
    assert get_webhook_adapter("nothing-registered") is None


# ------------------------------------------------------------- bad input

DEEP_JSON = b"[" * 50_000 + b"]" * 50_000
TELEGRAM_SECRET = "secret-token-for-tests"


@pytest.fixture
def telegram_inbox(db) -> Inbox:
    return Inbox.objects.create(
        adapter="telegram",
        name="Help desk bot",
        slug="helpdesk-bot",
        secrets={"bot_token": "123456:TEST-bot-token", "secret_token": TELEGRAM_SECRET},
    )


def post_telegram(client, body: bytes, *, token: str):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            "/webhooks/telegram/helpdesk-bot/",
            data=body,
            content_type="application/json",
            HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=token,
        )


def assert_stored_and_failed(response, body: bytes) -> InboundRecord:
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "malformed_json"
    record = InboundRecord.objects.get(pk=answer["received"])
    assert bytes(record.payload) == body
    assert record.status == InboundRecord.Status.FAILED
    assert "nested deeper than" in record.error
    return record


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(DEEP_JSON, id="50,000 nested brackets"),
        pytest.param(b'{"update_id": 1, "message": ', id="cut short"),
    ],
)
def test_a_malformed_telegram_update_with_the_secret_is_stored_and_fails(
    client, telegram_inbox, body
):
    """A verified body that is not JSON is kept raw and fails visibly at
    processing, where a supervisor can replay it; the sender gets a 400."""
    response = post_telegram(client, body, token=TELEGRAM_SECRET)

    assert response.status_code == 400
    record = InboundRecord.objects.get(pk=response.json()["received"])
    assert bytes(record.payload) == body
    assert record.status == InboundRecord.Status.FAILED
    assert record.error.startswith("InboundError: payload is not JSON")

    replayed = process_inbound(record.pk, replay=True)
    assert replayed.status == InboundRecord.Status.FAILED


def test_deep_json_with_a_wrong_telegram_secret_is_refused_and_not_stored(
    client, telegram_inbox
):
    response = post_telegram(client, DEEP_JSON, token="not-the-secret")

    assert response.status_code == 403
    assert not InboundRecord.objects.exists()


def test_deep_json_signed_for_whatsapp_is_stored_and_fails(client, whatsapp_inbox):
    """Meta's doors too: signed, stored, failed visibly, answered 400."""
    response = post_webhook(client, "whatsapp", DEEP_JSON)

    assert_stored_and_failed(response, DEEP_JSON)


def test_deep_json_with_a_bad_meta_signature_is_refused_and_not_stored(
    client, whatsapp_inbox
):
    response = post_webhook(client, "whatsapp", DEEP_JSON, signature="sha256=00")

    assert response.status_code == 403
    assert not InboundRecord.objects.exists()


def test_json_just_past_the_depth_limit_is_refused(client, telegram_inbox, settings):
    """Nesting is bounded by JSON_MAX_DEPTH, not by how deep Python can go."""
    settings.JSON_MAX_DEPTH = 5
    body = b'{"update_id": 7, "message": [[[[[1]]]]]}'

    response = post_telegram(client, body, token=TELEGRAM_SECRET)

    record = assert_stored_and_failed(response, body)
    assert "5 levels" in record.error
