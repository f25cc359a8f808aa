"""Phone calls: agents log them, a voice provider reports them; none is "sent"."""

from typing import NoReturn

from channels_app.adapters.base import PHONE_IDENTITY, ChannelAdapter
from channels_app.models import Inbox
from tickets.inbound import UnsupportedEventError
from tickets.outbound import DeliveryRefusedError, OutboundMessage


class PhoneAdapter(ChannelAdapter):
    """Calls agents log by hand: no webhook, nothing to parse, nothing to send."""

    key = "phone"
    label = "Phone (agent-logged calls)"
    channel = "phone"
    channel_label = "Phone"
    identity_kinds = (PHONE_IDENTITY,)
    # A reply on a call's ticket is refused with a reason when it is sent; the
    # page offers SMS or another channel instead.
    offers_replies = False

    def parse(self, payload: bytes, *, inbox: Inbox | None = None) -> NoReturn:
        raise UnsupportedEventError(
            "the phone adapter takes no payloads: agents log calls, and a voice "
            "provider's webhook reports them"
        )

    def send(self, message: OutboundMessage, *, inbox: Inbox | None = None) -> NoReturn:
        raise DeliveryRefusedError(
            "a phone call cannot be sent: call the customer and log the call, "
            "or reply by SMS"
        )
