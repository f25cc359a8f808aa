"""Reply windows: channels that take a free-form reply only for a while after the
customer last wrote on them. The channel's adapter declares the window (see
supportdesk.registry.reply_window)."""

from django.utils import timezone

from supportdesk.registry import after_the_window, reply_window
from tickets.selectors import last_inbound_at


def reply_window_open(ticket, channel: str) -> bool:
    """Whether a free-form reply can go to the ticket's customer on this channel."""
    window = reply_window(channel)
    if window is None:
        return True
    last = last_inbound_at(customer_id=ticket.customer_id, channel=channel)
    return last is not None and timezone.now() - last < window


def reply_window_refusal(ticket, channel: str) -> str:
    """Why a free-form reply cannot go out now; "" when it can."""
    if reply_window_open(ticket, channel):
        return ""
    hours = reply_window(channel).total_seconds() / 3600
    return f"outside the {hours:g}-hour window: {after_the_window(channel)}"
