"""A demo inbox with the slug "demo" for every kind of channel, with demo secrets.

Their webhooks answer at /webhooks/<adapter>/demo/; a request signed with these
secrets (see the channels documentation) goes through as a provider's would. An
inbox that exists already is left as it is, so changes made in the admin stay.
"""

from django.conf import settings
from django.db import transaction

from channels_app.models import Inbox

SLUG = "demo"
_TWILIO_ACCOUNT = "AC00000000000000000000000000000000"

# adapter → (name, config, secrets)
DEMO_INBOXES = {
    Inbox.Adapter.EMAIL: (
        "Demo mailbox",
        {},
        {"imap_password": "demo-imap-password"},
    ),
    Inbox.Adapter.CHAT: (
        "Demo web chat",
        {
            "title": "Demo shop support",
            "greeting": "Hi! Ask us anything about your order.",
            "color": "#0f766e",
            "position": "right",
            "name_field": "required",
            "email_field": "optional",
            # The demo shop page is served by the desk itself, at /widget-demo/.
            "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"],
        },
        {"identity_secret": "demo-chat-identity-secret"},
    ),
    Inbox.Adapter.PHONE: ("Demo phone line", {}, {}),
    Inbox.Adapter.WHATSAPP: (
        "Demo WhatsApp",
        {"phone_number_id": "100000000000001", "waba_id": "100000000000002"},
        {
            "app_secret": "demo-whatsapp-app-secret",
            "verify_token": "demo-whatsapp-verify-token",
            "access_token": "demo-whatsapp-access-token",
        },
    ),
    Inbox.Adapter.MESSENGER: (
        "Demo Messenger",
        {"page_id": "200000000000001"},
        {
            "app_secret": "demo-messenger-app-secret",
            "verify_token": "demo-messenger-verify-token",
            "page_access_token": "demo-messenger-page-token",
        },
    ),
    Inbox.Adapter.INSTAGRAM: (
        "Demo Instagram",
        {"page_id": "300000000000001"},
        {
            "app_secret": "demo-instagram-app-secret",
            "verify_token": "demo-instagram-verify-token",
            "page_access_token": "demo-instagram-page-token",
        },
    ),
    Inbox.Adapter.TELEGRAM: (
        "Demo Telegram bot",
        {},
        {
            "bot_token": "1000000001:demo-telegram-bot-token",
            "secret_token": "demo-telegram-secret-token",
        },
    ),
    Inbox.Adapter.TWILIO_SMS: (
        "Demo SMS",
        {"account_sid": _TWILIO_ACCOUNT, "from_number": "+15005550006"},
        {"auth_token": "demo-twilio-auth-token"},
    ),
    Inbox.Adapter.TWILIO_VOICE: (
        "Demo voice line",
        {"account_sid": _TWILIO_ACCOUNT},
        {"auth_token": "demo-twilio-auth-token"},
    ),
}


@transaction.atomic
def ensure_demo_inboxes() -> tuple[str, ...]:
    """Create the demo inboxes that do not exist yet; returns their adapters."""
    created = []
    for adapter, (name, config, secrets) in DEMO_INBOXES.items():
        _, is_new = Inbox.objects.get_or_create(
            adapter=adapter,
            slug=SLUG,
            defaults={
                "name": name,
                "config": config,
                "secrets": secrets,
                # Their secrets are public: open doors only on a desk for trying out.
                "enabled": settings.DEMO_INBOXES_ENABLED,
            },
        )
        if is_new:
            created.append(str(adapter))
    return tuple(created)
