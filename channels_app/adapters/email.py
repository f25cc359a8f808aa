"""Mail: raw RFC 822 messages in, replies out through Django's email backend.

Whatever door a mail came through, parse() turns the stored raw message into one
InboundMessage.
"""

from channels_app.adapters.base import ChannelAdapter
from channels_app.email.send import send_mail_message
from tickets.inbound import InboundMessage
from tickets.outbound import OutboundMessage


class EmailAdapter(ChannelAdapter):
    key = "email"

    def parse(self, payload: bytes, *, inbox=None) -> list[InboundMessage]:
        from channels_app.email.parse import parse_email

        return [parse_email(payload, inbox=inbox)]

    def send(self, message: OutboundMessage, *, inbox=None) -> str:
        """Send the mail; its Message-ID is the id customers' replies thread by."""
        return send_mail_message(message, inbox=inbox)
