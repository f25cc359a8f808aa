"""Fixtures the channel tests share."""

from tests.channels_app.meta_support import graph, whatsapp_inbox  # noqa: F401
from tests.channels_app.twilio_support import (  # noqa: F401
    public_url,
    sms_inbox,
    twilio_api,
    voice_inbox,
)
