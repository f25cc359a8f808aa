"""Channel adapters by key, as settings.CHANNEL_ADAPTERS names them, and what the
rest of the desk learns from them.

Every layer finds an adapter here, by key, without importing the adapters'
package: the registry is the one place that knows where they live. The desk's
vocabulary of channels, identity kinds and inbox adapters is read from the
adapters' declarations (channels_app.adapters.base.ChannelAdapter), so a channel
added in settings is known everywhere without an edit elsewhere.

Where several adapters declare one timeline channel (an agent-logged phone line
and a voice provider), the first registered is the channel's own: replies that
no inbox names leave through it, and it sets the channel's label, recipient
kinds and reply window.
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from supportdesk.channel_names import Channel

INTERNAL_LABEL = "Internal"


class UnknownChannelError(LookupError):
    pass


# How an identity's value is written once normalised.
EMAIL_FORM = "email"  # an address, lower-cased
PHONE_FORM = "phone"  # a number, E.164
HANDLE_FORM = "handle"  # as the channel gives it, stripped


@dataclass(frozen=True)
class IdentityKindSpec:
    """One kind of identity an adapter produces."""

    key: str
    label: str
    form: str = HANDLE_FORM
    # Numbers the provider verified and writes international without the plus
    # (WhatsApp ids): they only have to be possible numbers.
    provider_number: bool = False
    # A value of this kind is the person's phone number too, so calls, SMS and
    # WhatsApp from one number meet on one timeline.
    also_a_phone: bool = False


@cache
def _load(key: str, path) -> object:
    # A dotted path; tests may register an adapter class itself.
    adapter = (import_string(path) if isinstance(path, str) else path)()
    if adapter.key != key:
        raise ImproperlyConfigured(
            f"settings.CHANNEL_ADAPTERS registers {path} as {key!r}, "
            f"but its key is {adapter.key!r}"
        )
    return adapter


def get_adapter(key: str):
    try:
        path = settings.CHANNEL_ADAPTERS[key]
    except KeyError:
        raise UnknownChannelError(
            f"no channel adapter is registered as {key!r}"
        ) from None
    return _load(key, path)


def get_webhook_adapter(key: str):
    """The adapter whose webhook door is /webhooks/<key>/, or None."""
    try:
        adapter = get_adapter(key)
    except UnknownChannelError:
        return None
    return adapter if adapter.takes_webhooks else None


def adapters() -> tuple:
    """Every registered adapter, in the order settings lists them."""
    return _Vocabulary.of_settings().adapters


def clear_cache() -> None:
    """Forget loaded adapters and what was learnt from them (tests that register
    an adapter class of their own call it)."""
    _load.cache_clear()
    _Vocabulary.build.cache_clear()


# ------------------------------------------------------------------ timeline


def timeline_channels() -> dict[str, str]:
    """Every timeline channel and its label: the adapters' and the desk's own."""
    return _Vocabulary.of_settings().channels


def timeline_channel_choices() -> list[tuple[str, str]]:
    return list(timeline_channels().items())


def message_channels() -> tuple[str, ...]:
    """The channels a customer writes on: every timeline channel but the desk's
    own internal one."""
    return tuple(c for c in timeline_channels() if c != Channel.INTERNAL)


def message_channel_choices() -> list[tuple[str, str]]:
    labels = timeline_channels()
    return [(channel, labels[channel]) for channel in message_channels()]


def channel_label(channel: str) -> str:
    return timeline_channels().get(channel, channel)


# ---------------------------------------------------------------- identities


def identity_kinds() -> dict[str, IdentityKindSpec]:
    """Every identity kind the registered adapters produce, by key."""
    return _Vocabulary.of_settings().identity_kinds


def identity_kind_choices() -> list[tuple[str, str]]:
    return [(key, kind.label) for key, kind in identity_kinds().items()]


# ------------------------------------------------------------------- inboxes


def inbox_adapters() -> dict[str, object]:
    """The adapters an Inbox can name, by key."""
    return _Vocabulary.of_settings().inbox_adapters


def inbox_adapter_choices() -> list[tuple[str, str]]:
    return [(key, adapter.label) for key, adapter in inbox_adapters().items()]


# ------------------------------------------------------------------- replies


def reply_adapter(channel: str):
    """The adapter a reply on this timeline channel leaves through when no inbox
    names one; UnknownChannelError when no registered adapter has the channel."""
    try:
        return _Vocabulary.of_settings().channel_owners[channel]
    except KeyError:
        raise UnknownChannelError(
            f"no channel adapter is registered for the {channel!r} channel"
        ) from None


def sending_adapter(channel: str, inbox=None):
    """The adapter a message on this channel leaves through: that of its inbox
    when it has one, else the channel's own."""
    return get_adapter(inbox.adapter) if inbox is not None else reply_adapter(channel)


def _owner(channel: str):
    return _Vocabulary.of_settings().channel_owners.get(channel)


def recipient_kinds(channel: str) -> tuple[str, ...]:
    """The identity kinds a reply on this channel can go to, best first."""
    adapter = _owner(channel)
    if adapter is None:
        return ()
    return tuple(adapter.recipient_kinds) or tuple(
        kind.key for kind in adapter.identity_kinds
    )


def reply_channels() -> tuple[str, ...]:
    """The channels an agent can write a reply on, in registry order."""
    owners = _Vocabulary.of_settings().channel_owners
    return tuple(c for c, adapter in owners.items() if adapter.offers_replies)


def reply_window(channel: str) -> timedelta | None:
    """How long after the customer last wrote on this channel a free-form reply
    can still go to them; None when always."""
    adapter = _owner(channel)
    hours = adapter.reply_window_hours if adapter is not None else None
    return None if hours is None else timedelta(hours=hours)


def after_the_window(channel: str) -> str:
    """What an agent can do once the channel's reply window has closed."""
    adapter = _owner(channel)
    return adapter.after_the_window if adapter is not None else ""


# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Vocabulary:
    """What the registered adapters declare, read once for each registry."""

    adapters: tuple
    channels: dict
    channel_owners: dict
    identity_kinds: dict
    inbox_adapters: dict

    @classmethod
    def of_settings(cls) -> "_Vocabulary":
        # Keyed on the registry's contents, so a test's override_settings is
        # heard without a signal.
        return cls.build(tuple(settings.CHANNEL_ADAPTERS.items()))

    @classmethod
    @cache
    def build(cls, entries: tuple[tuple[str, str], ...]) -> "_Vocabulary":
        loaded = [_load(key, path) for key, path in entries]
        channels: dict[str, str] = {}
        owners: dict = {}
        kinds: dict[str, IdentityKindSpec] = {}
        for adapter in loaded:
            if adapter.channel and adapter.channel not in owners:
                owners[adapter.channel] = adapter
                channels[adapter.channel] = adapter.channel_label or adapter.label
            for kind in adapter.identity_kinds:
                kinds.setdefault(kind.key, kind)
        channels[Channel.INTERNAL] = INTERNAL_LABEL
        return cls(
            adapters=tuple(loaded),
            channels=channels,
            channel_owners=owners,
            identity_kinds=kinds,
            inbox_adapters={a.key: a for a in loaded if a.serves_inboxes},
        )
