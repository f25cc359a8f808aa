import pytest

from channels_app.models import InboundRecord, Inbox
from supportdesk.registry import get_webhook_adapter

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
