"""Names of the built-in channels, identity kinds and adapters, for code that has
to write one down ("a call is on the phone channel").

Which channels, kinds and adapters exist is not decided here: the adapters
registered in settings.CHANNEL_ADAPTERS declare them, and supportdesk.registry
answers from those declarations. A channel added in settings needs no name here.
"""


class Channel:
    """Timeline channels."""

    EMAIL = "email"
    CHAT = "chat"
    PHONE = "phone"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    TELEGRAM = "telegram"
    SMS = "sms"
    # The desk's own: notes, status changes, route changes. No adapter has it.
    INTERNAL = "internal"


class IdentityKind:
    """Kinds of customer identity."""

    EMAIL = "email"
    PHONE = "phone"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    TELEGRAM = "telegram"
    SMS = "sms"
    WEB = "web"


class AdapterKey:
    """Keys of adapters: inboxes, stored payloads and webhook URLs name them."""

    EMAIL = "email"
    CHAT = "chat"
    PHONE = "phone"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    TELEGRAM = "telegram"
    TWILIO_SMS = "twilio-sms"
    TWILIO_VOICE = "twilio-voice"
    # Messages already in the normalised form: imports, bots, the demo data.
    API = "api"
