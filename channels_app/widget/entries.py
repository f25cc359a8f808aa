"""A visitor's numbered stream: every item the widget shows, once, in order.

Numbers are taken under the visitor's row lock in the transaction that writes the
entry, so entries commit in number order; they are published after commit, and
the visitor's socket fills any gap from the database before relaying.
"""

import hashlib
import uuid

from django.core import signing
from django.db import transaction
from django.urls import reverse

from channels_app.models import ChatEntry, ChatVisitor
from supportdesk import events
from supportdesk.oncommit import publish_on_commit
from tickets.models import OPEN_STATUSES, Ticket

_FILE_SALT = "supportdesk.widget.file"
_AVATAR_COLOURS = ("#2563eb", "#7c3aed", "#db2777", "#ea580c", "#059669", "#0891b2")


def widget_group(visitor_public_id: uuid.UUID) -> str:
    return f"widget.{visitor_public_id.hex}"


def visitor_conversation_key(visitor: ChatVisitor) -> str:
    """What a visitor's chat tickets are threaded by."""
    return f"visitor:{visitor.public_id.hex}"


def open_chat_tickets(visitor: ChatVisitor):
    """The visitor's chat tickets still open: the one their next message joins."""
    return Ticket.objects.filter(
        conversation_key=visitor_conversation_key(visitor),
        channel="chat",
        status__in=OPEN_STATUSES,
    )


def visitor_public_id_of(conversation_key: str) -> str:
    prefix, _, public_id = conversation_key.partition(":")
    return public_id if prefix == "visitor" and public_id else ""


@transaction.atomic
def append_entry(
    *, visitor_id: int, kind: str, event=None, ticket_id=None, data=None
) -> ChatEntry:
    """Number the next entry of a visitor's stream and publish it after commit.
    An event already on the stream is not added again."""
    if event is not None:
        existing = ChatEntry.objects.filter(event=event).first()
        if existing is not None:
            return existing
    # The inbox comes along for the attachment links of the published payload.
    visitor = (
        ChatVisitor.objects.select_for_update(no_key=True, of=("self",))
        .select_related("inbox")
        .get(pk=visitor_id)
    )
    visitor.last_seq += 1
    visitor.save(update_fields=["last_seq"])
    entry = ChatEntry.objects.create(
        visitor=visitor,
        seq=visitor.last_seq,
        kind=kind,
        event=event,
        ticket_id=ticket_id,
        data=data or {},
    )
    publish_on_commit(
        {"type": events.WIDGET_ENTRY, "entry": entry_payload(entry)},
        [widget_group(visitor.public_id)],
    )
    return entry


def agent_badge(*, author_id: int | None, name: str) -> dict:
    """How an agent appears to a visitor: a name and an initials avatar."""
    name = (name or "Support").strip()
    initials = "".join(word[0] for word in name.split()[:2]).upper() or "?"
    digest = hashlib.sha256(f"{author_id}:{name}".encode()).digest()
    return {
        "name": name,
        "initials": initials,
        "color": _AVATAR_COLOURS[digest[0] % len(_AVATAR_COLOURS)],
    }


def entry_payload(entry: ChatEntry) -> dict:
    """What the widget needs to show an entry, and nothing an agent alone sees."""
    payload = {"seq": entry.seq, "kind": entry.kind, "at": entry.created_at.isoformat()}
    if entry.kind == ChatEntry.Kind.MESSAGE and entry.event is not None:
        event = entry.event
        from_visitor = event.kind == event.Kind.MESSAGE_IN
        payload.update(
            {
                "from": "visitor" if from_visitor else "agent",
                "text": event.text,
                "at": event.occurred_at.isoformat(),
                "attachments": [
                    _attachment(entry.visitor, attachment)
                    for attachment in event.attachments.all()
                ],
            }
        )
        if from_visitor:
            payload["client_id"] = event.metadata.get("client_id", "")
        else:
            payload["agent"] = agent_badge(
                author_id=event.author_id, name=event.sender_name
            )
    elif entry.kind == ChatEntry.Kind.RATING:
        payload.update(
            {
                "rates": entry.data.get("rates"),
                "score": entry.data.get("score"),
                "comment": entry.data.get("comment", ""),
            }
        )
    return payload


def _attachment(visitor: ChatVisitor, attachment) -> dict:
    return {
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": attachment_url(visitor, attachment.pk),
    }


def attachment_url(visitor: ChatVisitor, attachment_id: int) -> str:
    signature = signing.Signer(salt=_FILE_SALT).sign(
        f"{visitor.public_id.hex}.{attachment_id}"
    )
    return reverse(
        "widget-file",
        kwargs={
            "slug": visitor.inbox.slug,
            "attachment_id": attachment_id,
            "signature": signature.rpartition(":")[2],
        },
    )


def attachment_signature_valid(
    visitor_public_id: str, attachment_id: int, signature: str
) -> bool:
    value = f"{visitor_public_id}.{attachment_id}:{signature}"
    try:
        signing.Signer(salt=_FILE_SALT).unsign(value)
    except signing.BadSignature:
        return False
    return True


def _entries(visitor: ChatVisitor):
    return (
        ChatEntry.objects.filter(visitor=visitor)
        .select_related("event", "visitor__inbox")
        .prefetch_related("event__attachments")
    )


def entries_between(visitor: ChatVisitor, after: int, upto: int) -> list[dict]:
    """Entries after `after` up to and including `upto`, oldest first."""
    rows = _entries(visitor).filter(seq__gt=after, seq__lte=upto).order_by("seq")
    return [entry_payload(row) for row in rows]


def entries_before(
    visitor: ChatVisitor, before: int, limit: int
) -> tuple[list[dict], bool]:
    """Up to `limit` entries just before `before`, oldest first, and whether there
    are older ones still."""
    rows = list(_entries(visitor).filter(seq__lt=before).order_by("-seq")[: limit + 1])
    has_more = len(rows) > limit
    return [entry_payload(row) for row in reversed(rows[:limit])], has_more
