"""Fixtures the channel tests share."""

from tests.channels_app.meta_support import graph, whatsapp_inbox  # noqa: F401
