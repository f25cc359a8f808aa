"""The chat widget's channel: what visitors send arrives through the widget socket
and upload view, stored raw as an envelope; replies go to the visitor's stream.

Envelope (the raw payload of an InboundRecord with channel "chat"):
  {"visitor": <public id hex>, "kind": "message" | "receipt" | "rating",
   "received_at": iso8601, "name": ..., "email": ..., "host": <host page origin>,
   "data": <what the widget sent>, "attachments": [{"name", "content_type",
   "content" (base64)}]}
The visitor, name and email come from the server's side of the socket, decided by
the visitor's token; only "data" and "attachments" are the visitor's own.
"""

import base64
import binascii
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings

from channels_app.adapters.base import EMAIL_IDENTITY, ChannelAdapter, InboundItem
from channels_app.email.headers import clean_text
from channels_app.models import ChatEntry, ChatVisitor, Inbox
from channels_app.widget import entries
from channels_app.widget.actions import do_mark_chat_read
from channels_app.widget.agents import typing_event, visitor_of_ticket
from channels_app.widget.presence import visitor_online
from supportdesk.json_input import parse_json
from supportdesk.registry import IdentityKindSpec, get_adapter
from tickets.actions.delivery import do_note_send_details
from tickets.inbound import (
    ConversationRating,
    DeliveryUpdate,
    IdentityClaim,
    InboundAttachment,
    InboundError,
    InboundMessage,
    UnsupportedEventError,
)
from tickets.models import Agent, Ticket, TimelineEvent
from tickets.outbound import DeliveryRefusedError, LiveContact, OutboundMessage
from tickets.selectors import outgoing_event

# A decoded JSON object, as the widget sent it: every value still to be checked.
Json = dict[str, Any]

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def external_id_of(visitor: ChatVisitor, client_id: str) -> str:
    return f"{visitor.public_id.hex}:{client_id}"


class ChatAdapter(ChannelAdapter):
    key = "chat"
    label = "Web chat"
    channel = "chat"
    # A visitor who leaves an address is joined to that customer's timeline.
    identity_kinds = (IdentityKindSpec("web", "Web visitor"), EMAIL_IDENTITY)
    recipient_kinds = ("web",)
    secret_fields = ("identity_secret",)
    config_fields = (
        "title",
        "greeting",
        "color",
        "position",
        "name_field",
        "email_field",
        "allowed_origins",
        "identity_max_age",
    )
    sends_in_process = True

    def inbox_endpoint(self, inbox: Inbox) -> str:
        return "none: sites embed the widget (the snippet is on its page)"

    # -------------------------------------------------------------------- in
    def parse(self, payload: bytes, *, inbox: Inbox | None = None) -> list[InboundItem]:
        try:
            envelope = parse_json(payload)
            visitor_id = str(envelope["visitor"])
            kind = str(envelope["kind"])
            data = envelope["data"]
        except (ValueError, KeyError, TypeError):
            raise InboundError(
                "a chat envelope names a visitor, kind and data"
            ) from None
        if not isinstance(data, dict):
            raise InboundError("a chat envelope's data is an object")
        visitor = (
            ChatVisitor.objects.filter(public_id=visitor_id)
            .select_related("inbox")
            .first()
        )
        if visitor is None:
            raise InboundError(f"no chat visitor {visitor_id[:40]!r}")
        parse = {
            "message": self._message,
            "receipt": self._receipt,
            "rating": self._rating,
        }.get(kind)
        if parse is None:
            raise UnsupportedEventError(f"unknown chat envelope kind {kind[:40]!r}")
        return parse(visitor, envelope, data)

    def _message(
        self, visitor: ChatVisitor, envelope: Json, data: Json
    ) -> list[InboundItem]:
        client_id = str(data.get("client_id") or "")
        if not CLIENT_ID.match(client_id):
            raise InboundError("a chat message needs a client_id of 1-64 letters")
        text = data.get("text") or ""
        if not isinstance(text, str):
            raise InboundError("a chat message's text is a string")
        # A browser can send what the database cannot hold: dropped, so the
        # message is stored rather than failing for good.
        text = clean_text(text)
        if len(text) > settings.WIDGET_MAX_MESSAGE_CHARS:
            raise InboundError(
                f"a chat message is at most {settings.WIDGET_MAX_MESSAGE_CHARS} "
                "characters"
            )
        attachments = tuple(_attachments(envelope.get("attachments") or []))
        if not text.strip() and not attachments:
            raise InboundError("a chat message needs text or an attachment")
        claims = [IdentityClaim("web", visitor.identity_value)]
        email = str(envelope.get("email") or "")
        if email:
            # The pre-chat form's address joins the chat to that customer's
            # timeline, as a mail from it would; the visitor sees only their chat.
            claims.append(IdentityClaim("email", email))
        received_at = envelope.get("received_at")
        return [
            InboundMessage(
                channel="chat",
                external_id=external_id_of(visitor, client_id),
                identities=tuple(claims),
                sender_name=str(envelope.get("name") or visitor.name)[:200],
                text=text,
                occurred_at=datetime.fromisoformat(received_at)
                if received_at
                else None,
                conversation_key=entries.visitor_conversation_key(visitor),
                attachments=attachments,
                metadata={
                    "client_id": client_id,
                    "chat_visitor": visitor.public_id.hex,
                    "host": clean_text(str(envelope.get("host") or ""))[:200],
                },
                inbox=visitor.inbox.slug,
            )
        ]

    def _receipt(
        self, visitor: ChatVisitor, envelope: Json, data: Json
    ) -> list[InboundItem]:
        """The visitor's widget has the agents' messages up to one number, and has
        shown them up to another: they are delivered, and read."""
        updates: list[InboundItem] = []
        for status, upto in (
            ("delivered", data.get("delivered")),
            ("read", data.get("read")),
        ):
            if not isinstance(upto, int) or isinstance(upto, bool) or upto < 1:
                continue
            answered = ChatEntry.objects.filter(
                visitor=visitor,
                kind=ChatEntry.Kind.MESSAGE,
                seq__lte=upto,
                seq__gt=int(data.get(f"{status}_from") or 0),
                event__kind="message_out",
            ).values_list("event__external_id", flat=True)
            updates += [
                DeliveryUpdate(channel="chat", external_id=external_id, status=status)
                for external_id in answered
                if external_id
            ]
        return updates

    def _rating(
        self, visitor: ChatVisitor, envelope: Json, data: Json
    ) -> list[InboundItem]:
        # As the visitor sent them: no number finds no conversation, and
        # do_rate_ticket refuses a score that is not 1 to 5.
        seq: Any = data.get("seq")
        score: Any = data.get("score")
        resolved = ChatEntry.objects.filter(
            visitor=visitor, seq=seq, kind=ChatEntry.Kind.RESOLVED
        ).first()
        if resolved is None or resolved.ticket_id is None:
            raise InboundError("a rating names a resolved conversation of the visitor")
        return [
            ConversationRating(
                channel="chat",
                ticket_id=resolved.ticket_id,
                score=score,
                comment=clean_text(str(data.get("comment") or "")),
            )
        ]

    def applied(self, item: InboundItem, event: TimelineEvent) -> None:
        """Put what the visitor sent, and their ratings, on their stream."""
        visitor_id = event.metadata.get("chat_visitor") or ""
        if isinstance(item, InboundMessage):
            visitor = ChatVisitor.objects.get(public_id=visitor_id)
            entries.append_entry(
                visitor_id=visitor.pk,
                kind=ChatEntry.Kind.MESSAGE,
                event=event,
                ticket_id=event.ticket_id,
            )
        elif isinstance(item, ConversationRating):
            resolved = (
                ChatEntry.objects.filter(
                    ticket_id=item.ticket_id, kind=ChatEntry.Kind.RESOLVED
                )
                .order_by("-seq")
                .first()
            )
            if resolved is not None:
                entries.append_entry(
                    visitor_id=resolved.visitor_id,
                    kind=ChatEntry.Kind.RATING,
                    ticket_id=item.ticket_id,
                    data={
                        "rates": resolved.seq,
                        "score": item.score,
                        "comment": item.comment.strip(),
                    },
                )

    def ticket_status_changed(self, *, ticket: Ticket, previous: str) -> None:
        if ticket.status != "resolved":
            return
        visitor = visitor_of_ticket(ticket)
        if visitor is not None:
            entries.append_entry(
                visitor_id=visitor.pk,
                kind=ChatEntry.Kind.RESOLVED,
                ticket_id=ticket.pk,
            )

    def live_contact(self, ticket: Ticket) -> LiveContact | None:
        visitor = visitor_of_ticket(ticket)
        if visitor is None:
            return None
        return LiveContact(
            group=entries.widget_group(visitor.public_id),
            online=visitor_online(visitor),
            name=visitor.name,
            email=visitor.email,
            verified=visitor.verified,
            external_user_id=visitor.external_user_id,
        )

    def agent_typing_event(self, *, agent: Agent, typing: bool) -> dict[str, Any]:
        return typing_event(agent=agent, typing=typing)

    def mark_read_by_agent(self, *, ticket: Ticket) -> None:
        do_mark_chat_read(ticket=ticket)

    # ------------------------------------------------------------------- out
    def send(self, message: OutboundMessage, *, inbox: Inbox | None = None) -> str:
        """Put an agent's reply on the visitor's stream; a visitor away from the
        widget who left an email address gets it by email too."""
        visitor = ChatVisitor.objects.filter(identity_value=message.recipient).first()
        if visitor is None:
            raise DeliveryRefusedError("no chat visitor has this identity")
        event = outgoing_event(message.event_id)
        entries.append_entry(
            visitor_id=visitor.pk,
            kind=ChatEntry.Kind.MESSAGE,
            event=event,
            ticket_id=message.ticket_id,
        )
        if visitor.email and not visitor_online(visitor):
            self._email_copy(message, visitor, event)
        return f"{visitor.public_id.hex}:out:{message.event_id}"

    def _email_copy(
        self, message: OutboundMessage, visitor: ChatVisitor, event: TimelineEvent
    ) -> None:
        copy = OutboundMessage(
            event_id=message.event_id,
            channel="email",
            recipient_kind="email",
            recipient=visitor.email,
            ticket_id=message.ticket_id,
            sender_name=message.sender_name,
            subject=message.subject or "Your chat with us",
            text=message.text,
        )
        try:
            # Its reply address threads the customer's answer onto this ticket.
            emailed = {
                "to": visitor.email,
                "message_id": get_adapter("email").send(copy),
            }
        except DeliveryRefusedError as exc:
            # The reply is on the visitor's chat all the same: only the copy
            # failed. A temporary failure raises, and the retry sends the copy
            # again without adding the reply to the chat twice.
            emailed = {"to": visitor.email, "error": str(exc)[:500]}
        do_note_send_details(event=event, emailed=emailed)


def _attachments(items: Iterable[Any]) -> list[InboundAttachment]:
    result = []
    for item in items:
        try:
            content = base64.b64decode(item["content"], validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise InboundError("a chat attachment's content is base64") from None
        result.append(
            InboundAttachment(
                name=clean_text(str(item.get("name") or ""))[:255],
                content_type=str(item.get("content_type") or "")[:127],
                content=content,
            )
        )
    return result
