"""Mail: raw RFC 822 messages in, replies out through Django's email backend.

Whatever door a mail came through, parse() turns the stored raw message into one
InboundMessage.
"""

from django.conf import settings

from channels_app.adapters.base import EMAIL_IDENTITY, ChannelAdapter
from channels_app.email.parse import parse_email
from channels_app.email.send import send_mail_message
from channels_app.models import Inbox
from tickets.inbound import InboundMessage
from tickets.outbound import OutboundMessage


class EmailAdapter(ChannelAdapter):
    key = "email"
    label = "Email"
    channel = "email"
    identity_kinds = (EMAIL_IDENTITY,)
    secret_fields = ("imap_password",)
    config_fields = (
        "address",
        "from_name",
        "imap_host",
        "imap_port",
        "imap_tls",
        "imap_user",
        "imap_folder",
        "imap_since_days",
    )

    def inbox_endpoint(self, inbox: Inbox) -> str:
        if getattr(settings, "ANYMAIL_INBOUND_INBOX", "") == inbox.slug:
            base = settings.PUBLIC_BASE_URL.rstrip("/")
            return f"{base}/anymail/<provider>/inbound/"
        return "none: IMAP polling or manage.py ingest_eml"

    def parse(
        self, payload: bytes, *, inbox: Inbox | None = None
    ) -> list[InboundMessage]:

        return [parse_email(payload, inbox=inbox)]

    def send(self, message: OutboundMessage, *, inbox: Inbox | None = None) -> str:
        """Send the mail; its Message-ID is the id customers' replies thread by."""
        return send_mail_message(message, inbox=inbox)
