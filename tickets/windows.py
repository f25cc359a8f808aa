"""Reply windows: channels that take a free-form reply only for a while after the
customer last wrote on them (settings.REPLY_WINDOW_HOURS, by timeline channel)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from tickets.models import TimelineEvent

# What an agent can do once a channel's window has closed.
_AFTER_THE_WINDOW = {
    "whatsapp": "only a template can be sent",
}
_DEFAULT_AFTER = "the customer has to write again first"


def reply_window(channel: str) -> timedelta | None:
    hours = settings.REPLY_WINDOW_HOURS.get(channel)
    return None if hours is None else timedelta(hours=hours)


def last_inbound_at(ticket, channel: str) -> datetime | None:
    """When the ticket's customer last wrote on this channel, on any ticket."""
    return (
        TimelineEvent.objects.filter(
            customer_id=ticket.customer_id,
            channel=channel,
            kind=TimelineEvent.Kind.MESSAGE_IN,
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def reply_window_open(ticket, channel: str) -> bool:
    """Whether a free-form reply can go to the ticket's customer on this channel."""
    window = reply_window(channel)
    if window is None:
        return True
    last = last_inbound_at(ticket, channel)
    return last is not None and timezone.now() - last < window


def reply_window_refusal(ticket, channel: str) -> str:
    """Why a free-form reply cannot go out now; "" when it can."""
    if reply_window_open(ticket, channel):
        return ""
    hours = settings.REPLY_WINDOW_HOURS[channel]
    after = _AFTER_THE_WINDOW.get(channel, _DEFAULT_AFTER)
    return f"outside the {hours}-hour window: {after}"
