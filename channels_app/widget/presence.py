"""Who is there: agents with a desk open, visitors with the widget open.

Both are a timestamp refreshed while a socket lives (the desk and the widget ping
every half minute), so a process that dies takes its sockets' presence with it
within WIDGET_ONLINE_SECONDS.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from channels_app.models import ChatVisitor
from tickets.models import Agent

# A timestamp this fresh is not written again: pings cost no write.
_REFRESH_SECONDS = 15


def _since(seconds: int):
    return timezone.now() - timedelta(seconds=seconds)


def agents_online() -> bool:
    return Agent.objects.filter(
        is_active=True, desk_seen_at__gte=_since(settings.WIDGET_ONLINE_SECONDS)
    ).exists()


def touch_agent(agent_id: int) -> None:
    Agent.objects.filter(pk=agent_id).filter(
        Q(desk_seen_at__isnull=True) | Q(desk_seen_at__lt=_since(_REFRESH_SECONDS))
    ).update(desk_seen_at=timezone.now())


def touch_visitor(visitor_id: int) -> None:
    ChatVisitor.objects.filter(pk=visitor_id).filter(
        Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=_since(_REFRESH_SECONDS))
    ).update(last_seen_at=timezone.now())


def visitor_left(visitor_id: int) -> None:
    """The widget closed: answers go by email (when the visitor left one) until
    it opens again. Another open tab of the same visitor pings it back."""
    ChatVisitor.objects.filter(pk=visitor_id).update(last_seen_at=None)


def visitor_online(visitor: ChatVisitor) -> bool:
    return bool(
        visitor.last_seen_at
        and visitor.last_seen_at >= _since(settings.WIDGET_ONLINE_SECONDS)
    )
