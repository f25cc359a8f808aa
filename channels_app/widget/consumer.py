"""The visitor's WebSocket, /ws/widget/<slug>/.

The handshake is refused (403) unless the page's Origin is the desk's own iframe or
a site the inbox allows. The token comes in the first message, never in the URL;
the server decides from it the one group the socket joins: the visitor's own.

Client messages: hello, message, typing, receipt, rate, history, ping.
Server messages: ready, entry, synced, history, ack, typing, read, pong, error.
The full contract, with every field, is in docs/widget.md ("The widget's socket").
"""

import asyncio
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from channels_app.models import Inbox
from channels_app.widget import actions, door, entries
from channels_app.widget.origins import origin_allowed
from channels_app.widget.tokens import visitor_for_token
from supportdesk import events
from supportdesk.json_input import MalformedJSONError, parse_json
from tickets import presence as tickets_presence

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NO_HELLO = 4408
HELLO_TIMEOUT_SECONDS = 10
# A reconnecting widget gets everything it missed; a new page load gets the newest.
FIRST_PAGE = 50
HISTORY_PAGE = 50
# Frames of any kind a socket may send per window; messages have their own
# limit per visitor besides (WIDGET_RATE_MESSAGES).
FRAMES_PER_WINDOW = 120
FRAME_WINDOW_SECONDS = 30
PRESENCE_MESSAGE_TYPE = "desk.presence"
# A typing visitor sends a frame every few seconds; the ticket it goes to is read
# again after this long, or at once when an entry arrives (a conversation opened
# or resolved).
TYPING_TICKET_SECONDS = 60


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


# Inboxes by slug, read at most once per INBOX_CACHE_SECONDS per process: after a
# restart every widget reconnects at once, and a query per handshake would queue
# behind the process's one database thread past the server's handshake timeout.
INBOX_CACHE_SECONDS = 10
_inboxes: dict[str, tuple[float, Inbox | None]] = {}


@database_sync_to_async
def _read_inbox(slug: str) -> Inbox | None:
    return Inbox.objects.filter(
        adapter=Inbox.Adapter.CHAT, slug=slug, enabled=True
    ).first()


async def _inbox(slug: str, *, fresh: bool = False) -> Inbox | None:
    now = time.monotonic()
    cached = None if fresh else _inboxes.get(slug)
    if cached is not None and cached[0] > now:
        return cached[1]
    inbox = await _read_inbox(slug)
    if len(_inboxes) > 1000:  # slugs are the client's to choose
        _inboxes.clear()
    _inboxes[slug] = (now + INBOX_CACHE_SECONDS, inbox)
    return inbox


@database_sync_to_async
def _visitor(token, inbox):
    visitor = visitor_for_token(token, inbox)
    if visitor is not None:
        actions.do_touch_visitor(visitor_id=visitor.pk)
    return visitor


@database_sync_to_async
def _refresh(visitor):
    visitor.refresh_from_db()
    return visitor


@database_sync_to_async
def _run(function, **kwargs):
    return function(**kwargs)


@database_sync_to_async
def _open_ticket_id(visitor) -> int | None:
    return (
        entries.open_chat_tickets(visitor)
        .order_by("-id")
        .values_list("pk", flat=True)
        .first()
    )


class WidgetConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.visitor = None
        self.sent_seq = 0
        self.typing_ticket: tuple[float, int] | None = None
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        self.inbox = await _inbox(self.slug)
        if not self._origin_allowed():
            # A refusal is rare: the cached inbox is read again before it is
            # final, so a site just added to the inbox gets in at once.
            self.inbox = await _inbox(self.slug, fresh=True)
            if not self._origin_allowed():
                await self.close()  # before accept: the handshake gets a 403
                return
        await self.accept()
        self.hello_deadline = asyncio.get_running_loop().call_later(
            HELLO_TIMEOUT_SECONDS, lambda: asyncio.ensure_future(self._no_hello())
        )

    def _origin_allowed(self) -> bool:
        return self.inbox is not None and origin_allowed(
            self.inbox,
            _header(self.scope, b"origin"),
            host_header=_header(self.scope, b"host"),
            secure=self.scope.get("scheme") == "wss",
        )

    async def _no_hello(self):
        if self.visitor is None:
            await self.close(code=CLOSE_NO_HELLO)

    async def disconnect(self, code):
        if getattr(self, "hello_deadline", None):
            self.hello_deadline.cancel()
        if self.visitor is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await _run(actions.do_mark_visitor_away, visitor_id=self.visitor.pk)

    # ------------------------------------------------------------ from the widget
    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # A frame that is not JSON text gets an error; left to the base class it
        # would end the socket with an exception.
        if text_data is None:
            await self._error("invalid", "Frames are JSON text.")
            return
        try:
            content = await self.decode_json(text_data)
        except MalformedJSONError as exc:
            await self._error("invalid", f"A frame is not valid JSON: {exc}.")
            return
        await self.receive_json(content, **kwargs)

    @classmethod
    async def decode_json(cls, text_data):
        return parse_json(text_data)

    async def receive_json(self, content, **kwargs):
        if self._flooding():
            await self.send_json(
                {
                    "type": "error",
                    "error": "rate_limited",
                    "message": "Too many frames; slow down.",
                    "retry_after": FRAME_WINDOW_SECONDS,
                }
            )
            return
        if not isinstance(content, dict):
            await self._error("invalid", "A message is a JSON object.")
            return
        kind = content.get("type")
        if self.visitor is None:
            if kind != "hello":
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return
            await self._hello(content)
            return
        handler = {
            "message": self._message,
            "typing": self._typing,
            "receipt": self._receipt,
            "rate": self._rate,
            "history": self._history,
            "ping": self._ping,
        }.get(kind)
        if handler is None:
            await self._error("invalid", f"Unknown message type {str(kind)[:40]!r}.")
            return
        try:
            await handler(content)
        except door.RefusedError as refusal:
            await self.send_json(
                {**refusal.as_dict(), "client_id": content.get("client_id")}
                if kind == "message"
                else refusal.as_dict()
            )

    def _flooding(self) -> bool:
        """Typing, receipts, history and pings cost the server too: a socket
        gets FRAMES_PER_WINDOW of them a window, whatever they are."""
        window = int(time.monotonic() // FRAME_WINDOW_SECONDS)
        if getattr(self, "frame_window", None) != window:
            self.frame_window, self.frames = window, 0
        self.frames += 1
        return self.frames > FRAMES_PER_WINDOW

    async def _hello(self, content):
        visitor = await _visitor(content.get("token"), self.inbox)
        if visitor is None:
            # The cached inbox may be an older one of the same slug: read it
            # again before refusing.
            fresh = await _inbox(self.slug, fresh=True)
            if fresh is not None and fresh.pk != self.inbox.pk:
                self.inbox = fresh
                visitor = await _visitor(content.get("token"), fresh)
        if visitor is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.hello_deadline.cancel()
        self.visitor = visitor
        self.group = entries.widget_group(visitor.public_id)
        # Joined before reading: whatever commits from now on reaches this socket,
        # and the numbers keep anything from being shown twice.
        await self.channel_layer.group_add(self.group, self.channel_name)
        visitor = await _refresh(visitor)
        agents_online = await _run(tickets_presence.agents_online)
        last_seq = content.get("last_seq")
        if isinstance(last_seq, bool) or not isinstance(last_seq, int):
            last_seq = 0
        last_seq = max(0, min(last_seq, visitor.last_seq))
        await self.send_json(
            {
                "type": "ready",
                "visitor": {
                    "id": visitor.public_id.hex,
                    "name": visitor.name,
                    "email": visitor.email,
                    "verified": visitor.verified,
                },
                "agents_online": agents_online,
                "agent_read_seq": visitor.agent_read_seq,
                "last_seq": visitor.last_seq,
            }
        )
        if last_seq == 0:
            batch, has_more = await _run(
                entries.entries_before,
                visitor=visitor,
                before=visitor.last_seq + 1,
                limit=FIRST_PAGE,
            )
        else:
            batch, has_more = (
                await _run(
                    entries.entries_between,
                    visitor=visitor,
                    after=last_seq,
                    upto=visitor.last_seq,
                ),
                False,
            )
        for entry in batch:
            await self.send_json({"type": "entry", "entry": entry})
        self.sent_seq = visitor.last_seq
        await self.send_json(
            {"type": "synced", "last_seq": self.sent_seq, "has_more": has_more}
        )

    async def _message(self, content):
        _record, created = await _run(
            door.receive_message,
            visitor=self.visitor,
            data=content,
            host=str(content.get("host") or ""),
        )
        await self.send_json(
            {"type": "ack", "client_id": content["client_id"], "duplicate": not created}
        )

    async def _typing(self, content):
        ticket_id = await self._typing_ticket_id()
        if ticket_id is None:
            return
        await self.channel_layer.group_send(
            f"presence.{ticket_id}",
            {
                "type": PRESENCE_MESSAGE_TYPE,
                "sender": self.channel_name,
                "hello": False,
                "event": {
                    "type": "visitor_typing",
                    "ticket_id": ticket_id,
                    "typing": bool(content.get("typing", True)),
                    "name": self.visitor.name or "Visitor",
                },
            },
        )

    async def _typing_ticket_id(self) -> int | None:
        now = time.monotonic()
        if self.typing_ticket is not None and self.typing_ticket[0] > now:
            return self.typing_ticket[1]
        ticket_id = await _open_ticket_id(self.visitor)
        # No ticket is not kept: the visitor's first message may open one.
        self.typing_ticket = (
            (now + TYPING_TICKET_SECONDS, ticket_id) if ticket_id else None
        )
        return ticket_id

    async def _receipt(self, content):
        await _run(
            door.receive_receipt,
            visitor=self.visitor,
            upto=content.get("seq"),
            read=bool(content.get("read")),
        )

    async def _rate(self, content):
        await _run(door.receive_rating, visitor=self.visitor, data=content)

    async def _history(self, content):
        before = content.get("before")
        if isinstance(before, bool) or not isinstance(before, int):
            raise door.RefusedError("invalid", "History needs a 'before' number.")
        batch, has_more = await _run(
            entries.entries_before,
            visitor=self.visitor,
            before=before,
            limit=HISTORY_PAGE,
        )
        await self.send_json(
            {"type": "history", "entries": batch, "has_more": has_more}
        )

    async def _ping(self, content):
        await _run(actions.do_touch_visitor, visitor_id=self.visitor.pk)
        await self.send_json({"type": "pong"})

    async def _error(self, code: str, message: str):
        await self.send_json({"type": "error", "error": code, "message": message})

    # ------------------------------------------------------------- from the layer
    async def desk_event(self, message):
        event = message["event"]
        if event.get("type") != events.WIDGET_ENTRY:
            await self.send_json(event)
            return
        seq = event["entry"]["seq"]
        if seq <= self.sent_seq:
            return
        self.typing_ticket = None
        if seq > self.sent_seq + 1:
            # Publications of neighbouring entries can overtake each other; the
            # database has every entry up to this one, committed in order.
            missing = await _run(
                entries.entries_between,
                visitor=self.visitor,
                after=self.sent_seq,
                upto=seq - 1,
            )
            for entry in missing:
                await self.send_json({"type": "entry", "entry": entry})
        await self.send_json(event)
        self.sent_seq = seq
