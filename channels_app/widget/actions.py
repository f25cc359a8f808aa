"""Every change to chat visitors: opened, told who they are, seen, read, and
how far they have received and read the agents' entries.

Views and consumers of the widget parse and check what comes in, then call these.
"""

import uuid

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from channels_app.models import ChatEntry, ChatVisitor, Inbox
from channels_app.widget import entries
from channels_app.widget.agents import visitor_of_ticket
from supportdesk import events
from supportdesk.oncommit import publish_on_commit
from tickets.models import Ticket
from tickets.presence import REFRESH_SECONDS, seen_since


def do_open_visitor(*, inbox: Inbox) -> ChatVisitor:
    """A new anonymous visitor of a chat inbox."""
    return ChatVisitor.objects.create(
        inbox=inbox, identity_value=f"visitor:{uuid.uuid4().hex}"
    )


def do_open_verified_visitor(*, inbox: Inbox, user_id: str) -> ChatVisitor:
    """The visitor the host site vouches for: the same one in every browser."""
    existing = ChatVisitor.objects.filter(inbox=inbox, external_user_id=user_id)
    visitor = existing.first()
    if visitor is not None:
        return visitor
    try:
        with transaction.atomic():
            return ChatVisitor.objects.create(
                inbox=inbox,
                external_user_id=user_id,
                identity_value=f"{inbox.slug}:user:{user_id}",
            )
    except IntegrityError:  # the same user's other tab was first
        return existing.get()


def do_update_visitor_profile(*, visitor: ChatVisitor, name: str, email: str) -> None:
    fields = []
    if name and name != visitor.name:
        visitor.name = name
        fields.append("name")
    if email and email != visitor.email:
        visitor.email = email
        fields.append("email")
    if fields:
        visitor.save(update_fields=fields)


def do_touch_visitor(*, visitor_id: int) -> None:
    """The visitor's widget is open: they hear replies there."""
    ChatVisitor.objects.filter(pk=visitor_id).filter(
        Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=seen_since(REFRESH_SECONDS))
    ).update(last_seen_at=timezone.now())


def do_mark_visitor_away(*, visitor_id: int) -> None:
    """The widget closed: answers go by email (when the visitor left one) until
    it opens again. Another open tab of the same visitor pings it back."""
    ChatVisitor.objects.filter(pk=visitor_id).update(last_seen_at=None)


def do_advance_visitor_marks(
    *, visitor: ChatVisitor, upto: int, read: bool
) -> dict[str, int]:
    """The widget has the agents' entries up to `upto` (and has shown them when
    `read`): the visitor's delivered and read marks move forward, never back.
    Returns each mark that moved and where it stood before; empty when none did."""
    # The socket's copy of the visitor is as old as its hello: entries numbered
    # since then are what receipts are mostly about.
    visitor.refresh_from_db(
        fields=["last_seq", "visitor_delivered_seq", "visitor_read_seq"]
    )
    upto = min(upto, visitor.last_seq)
    moved: dict[str, int] = {}
    for status, field in (
        ("delivered", "visitor_delivered_seq"),
        ("read", "visitor_read_seq"),
    ):
        if status == "read" and not read:
            continue
        before = getattr(visitor, field)
        # Conditional, so two tabs of one visitor store a range once.
        if ChatVisitor.objects.filter(pk=visitor.pk, **{f"{field}__lt": upto}).update(
            **{field: upto}
        ):
            moved[status], moved[f"{status}_from"] = upto, before
            setattr(visitor, field, upto)
    return moved


@transaction.atomic
def do_mark_chat_read(*, ticket: Ticket) -> int:
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
        {"type": events.WIDGET_READ, "seq": upto},
        [entries.widget_group(visitor.public_id)],
    )
    return upto
