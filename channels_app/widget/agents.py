"""Who a chat ticket's visitor is, and what an agent typing tells them."""

from channels_app.models import ChatVisitor
from channels_app.widget import entries
from supportdesk import events


def visitor_of_ticket(ticket) -> ChatVisitor | None:
    if ticket.channel != "chat":
        return None
    public_id = entries.visitor_public_id_of(ticket.conversation_key)
    if not public_id:
        return None
    return ChatVisitor.objects.filter(public_id=public_id).first()


def typing_event(*, agent, typing: bool) -> dict:
    name = agent.get_full_name() or agent.username
    return {
        "type": events.WIDGET_TYPING,
        "typing": typing,
        "agent": entries.agent_badge(author_id=agent.pk, name=name),
    }
