"""Who is there: agents with a desk open, and visitors with a chat widget open.

Each is a timestamp refreshed while a socket lives (the desk and the widget ping
every half minute), so a process that dies takes its sockets' presence with it
within WIDGET_ONLINE_SECONDS.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tickets.models import Agent

# A timestamp this fresh is not written again: pings cost no write.
REFRESH_SECONDS = 15


def seen_since(seconds: int) -> datetime:
    return timezone.now() - timedelta(seconds=seconds)


def online_since() -> datetime:
    """A socket that pinged after this is there."""
    return seen_since(settings.WIDGET_ONLINE_SECONDS)


def agents_online() -> bool:
    return Agent.objects.filter(
        is_active=True, desk_seen_at__gte=online_since()
    ).exists()


def touch_agent(agent_id: int) -> None:
    Agent.objects.filter(pk=agent_id).filter(
        Q(desk_seen_at__isnull=True) | Q(desk_seen_at__lt=seen_since(REFRESH_SECONDS))
    ).update(desk_seen_at=timezone.now())
