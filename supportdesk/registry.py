"""Channel adapters by key, as settings.CHANNEL_ADAPTERS names them.

Every layer finds an adapter here, by key, without importing the adapters'
package: the registry is the one place that knows where they live.
"""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


class UnknownChannelError(LookupError):
    pass


@cache
def _load(path: str):
    return import_string(path)()


def get_adapter(key: str):
    try:
        path = settings.CHANNEL_ADAPTERS[key]
    except KeyError:
        raise UnknownChannelError(
            f"no channel adapter is registered as {key!r}"
        ) from None
    return _load(path)


def get_webhook_adapter(key: str):
    """The adapter whose webhook door is /webhooks/<key>/, or None.

    Only an adapter's own key opens its door: an alias in the registry (a reply
    channel such as "sms") is no second webhook address.
    """
    try:
        adapter = get_adapter(key)
    except UnknownChannelError:
        return None
    return adapter if adapter.takes_webhooks and adapter.key == key else None
