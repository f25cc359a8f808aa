"""Channel adapters by key: verify and parse what comes in, send what goes out."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from channels_app.adapters.base import (
    ChannelAdapter,
    DeliveryRefusedError,
    OutboundMessage,
    SignatureError,
)


class UnknownChannelError(LookupError):
    pass


@cache
def _load(path: str) -> ChannelAdapter:
    return import_string(path)()


def get_adapter(key: str) -> ChannelAdapter:
    try:
        path = settings.CHANNEL_ADAPTERS[key]
    except KeyError:
        raise UnknownChannelError(
            f"no channel adapter is registered as {key!r}"
        ) from None
    return _load(path)


__all__ = [
    "ChannelAdapter",
    "DeliveryRefusedError",
    "OutboundMessage",
    "SignatureError",
    "UnknownChannelError",
    "get_adapter",
]
