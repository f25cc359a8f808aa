import json
from io import StringIO

import pytest
from django.core.management import call_command

from channels_app.demo.inboxes import DEMO_INBOXES
from channels_app.models import InboundRecord, Inbox
from supportdesk import registry

pytestmark = pytest.mark.django_db

EVERY_ADAPTER = {
    "email",
    "chat",
    "phone",
    "whatsapp",
    "messenger",
    "instagram",
    "telegram",
    "twilio-sms",
    "twilio-voice",
}


@pytest.fixture(autouse=True)
def _demo_mode(settings):
    """seed_demo seeds only in demo mode; the suite runs with DATABASE_URL set."""
    settings.DEMO = True


@pytest.fixture
def seeded(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEMO_INBOXES_ENABLED = True
    call_command("seed_demo", stdout=StringIO())


def test_demo_inboxes_stay_switched_off_unless_asked_for(settings):
    """Their secrets are public, so a desk not in demo mode keeps their doors shut."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEMO_INBOXES_ENABLED = False
    call_command("seed_demo", stdout=StringIO())

    assert not Inbox.objects.filter(slug="demo", enabled=True).exists()
    assert Inbox.objects.filter(slug="demo").count() == len(EVERY_ADAPTER)


def test_seed_demo_creates_a_demo_inbox_for_every_adapter(seeded):
    inboxes = Inbox.objects.filter(slug="demo")

    assert set(inboxes.values_list("adapter", flat=True)) == EVERY_ADAPTER
    assert set(registry.inbox_adapters()) == EVERY_ADAPTER
    assert all(inbox.enabled for inbox in inboxes)
    telegram = inboxes.get(adapter="telegram")
    assert telegram.secret("secret_token") == "demo-telegram-secret-token"
    sms = inboxes.get(adapter="twilio-sms")
    assert sms.config["from_number"] == "+15005550006"
    assert sms.secret("auth_token") == "demo-twilio-auth-token"


def test_a_second_seed_adds_no_inbox_and_keeps_admin_edits(seeded):
    Inbox.objects.filter(adapter="telegram", slug="demo").update(
        secrets={"bot_token": "1:mine", "secret_token": "mine"}, enabled=False
    )

    call_command("seed_demo", stdout=StringIO())

    assert Inbox.objects.filter(slug="demo").count() == len(DEMO_INBOXES) == 9
    telegram = Inbox.objects.get(adapter="telegram", slug="demo")
    assert telegram.secrets == {"bot_token": "1:mine", "secret_token": "mine"}
    assert not telegram.enabled


def test_the_demo_telegram_webhook_takes_the_documented_secret(seeded, client):
    update = {"update_id": 1, "callback_query": {"id": "1"}}

    refused = client.post(
        "/webhooks/telegram/demo/",
        data=json.dumps(update),
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="not-the-demo-secret",
    )
    taken = client.post(
        "/webhooks/telegram/demo/",
        data=json.dumps(update),
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="demo-telegram-secret-token",
    )

    assert (refused.status_code, taken.status_code) == (403, 200)
    assert InboundRecord.objects.filter(channel="telegram", inbox="demo").exists()
