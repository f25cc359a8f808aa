"""What the desk learns from the adapters registered in settings."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from channels_app.adapters.base import ChannelAdapter
from supportdesk import registry


class SecondSmsAdapter(ChannelAdapter):
    """Another SMS provider, on the channel the Twilio adapter already has."""

    key = "other-sms"
    label = "SMS (another provider)"
    channel = "sms"
    channel_label = "Text message"


def test_the_timeline_channels_are_the_adapters_and_the_desks_own():
    assert registry.timeline_channels() == {
        "email": "Email",
        "whatsapp": "WhatsApp",
        "sms": "SMS",
        "phone": "Phone",
        "messenger": "Messenger",
        "instagram": "Instagram",
        "telegram": "Telegram",
        "chat": "Web chat",
        "internal": "Internal",
    }
    assert "internal" not in registry.message_channels()


def test_identity_kinds_come_from_every_adapter_that_produces_one():
    kinds = registry.identity_kinds()

    assert set(kinds) == {
        "email",
        "phone",
        "whatsapp",
        "sms",
        "messenger",
        "instagram",
        "telegram",
        "web",
    }
    assert kinds["web"].label == "Web visitor"
    assert (kinds["email"].form, kinds["sms"].form) == ("email", "phone")


def test_an_inbox_can_name_every_adapter_but_the_api():
    adapters = registry.inbox_adapters()

    assert "api" not in adapters
    assert adapters["twilio-voice"].label == "Voice (Twilio)"
    assert adapters["phone"].label == "Phone (agent-logged calls)"


def test_a_reply_without_an_inbox_leaves_by_the_first_adapter_of_its_channel(
    settings,
):
    """SMS replies go through Twilio; a call's channel belongs to the phone line."""
    assert registry.reply_adapter("sms").key == "twilio-sms"
    assert registry.reply_adapter("phone").key == "phone"

    settings.CHANNEL_ADAPTERS = {
        "other-sms": f"{__name__}.SecondSmsAdapter",
        **settings.CHANNEL_ADAPTERS,
    }

    assert registry.reply_adapter("sms").key == "other-sms"
    assert registry.channel_label("sms") == "Text message"
    # Its webhooks still have a door of their own.
    assert registry.get_webhook_adapter("twilio-sms").key == "twilio-sms"


def test_recipients_and_windows_are_the_channels_adapters():
    assert registry.recipient_kinds("sms") == ("sms", "phone")
    assert registry.recipient_kinds("whatsapp") == ("whatsapp",)
    # Without a declaration, the kinds the adapter produces.
    assert registry.recipient_kinds("telegram") == ("telegram",)
    assert registry.reply_window("whatsapp").total_seconds() == 24 * 3600
    assert registry.reply_window("email") is None
    assert registry.after_the_window("whatsapp") == "only a template can be sent"


def test_a_call_is_no_channel_a_reply_can_be_written_on():
    assert "phone" not in registry.reply_channels()
    assert "sms" in registry.reply_channels()


def test_a_channel_no_adapter_has_is_unknown():
    with pytest.raises(registry.UnknownChannelError):
        registry.reply_adapter("internal")
    with pytest.raises(registry.UnknownChannelError):
        registry.get_adapter("sms")
    assert registry.recipient_kinds("fax") == ()
    assert registry.reply_window("fax") is None


def test_an_adapter_registered_under_another_key_is_refused(settings):
    """One key for each adapter: no alias can open a second webhook door."""
    settings.CHANNEL_ADAPTERS = {
        **settings.CHANNEL_ADAPTERS,
        "sms": settings.CHANNEL_ADAPTERS["twilio-sms"],
    }

    with pytest.raises(ImproperlyConfigured, match="its key is 'twilio-sms'"):
        registry.get_adapter("sms")
    with pytest.raises(ImproperlyConfigured):
        registry.timeline_channels()
