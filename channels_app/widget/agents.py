"""What agents' actions on a chat ticket tell its visitor: typing, and read."""

from django.db import transaction

from channels_app.models import ChatEntry, ChatVisitor
from channels_app.widget import entries
from supportdesk.oncommit import publish_on_commit


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
        "type": entries.TYPING_EVENT,
        "typing": typing,
        "agent": entries.agent_badge(author_id=agent.pk, name=name),
    }


@transaction.atomic
def do_mark_chat_read(*, ticket) -> int:
    """An agent has the ticket open: the visitor's messages so far are read. Returns
    the visitor's number read up to (0 when nothing changed)."""
    visitor = visitor_of_ticket(ticket)
    if visitor is None:
        return 0
    upto = (
        ChatEntry.objects.filter(
            visitor=visitor, kind=ChatEntry.Kind.MESSAGE, event__kind="message_in"
        )
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    if not upto:
        return 0
    moved = ChatVisitor.objects.filter(pk=visitor.pk, agent_read_seq__lt=upto).update(
        agent_read_seq=upto
    )
    if not moved:
        return 0
    publish_on_commit(
        {"type": entries.READ_EVENT, "seq": upto},
        [entries.widget_group(visitor.public_id)],
    )
    return upto
