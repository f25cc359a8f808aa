"""Whether a chat visitor has the widget open (see tickets.presence)."""

from channels_app.models import ChatVisitor
from tickets.presence import online_since


def visitor_online(visitor: ChatVisitor) -> bool:
    return bool(visitor.last_seen_at and visitor.last_seen_at >= online_since())
