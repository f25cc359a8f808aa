"""The agents' WebSocket: authenticate, join the groups the agent may hear, relay.

Client messages (JSON):
  {"action": "watch_ticket", "ticket_id": N}   hear ticket N, its customer and
                                               who else is on it (if permitted)
  {"action": "unwatch_ticket"}
  {"action": "typing", "ticket_id": N, "typing": true|false}
  {"action": "seen", "ticket_id": N}           the agent has read the watched
                                               ticket's chat so far
  {"action": "ping"}                           keeps the agent shown as online
Server messages: the desk's event dicts (supportdesk/events.py), an internal
note's only to agents who may see its ticket (the timeline's rule), and
  {"type": "watching", "ticket_id": N}
  {"type": "presence", "ticket_id", "agent_id", "name", "state"}
      state: "viewing" | "typing" | "left"
  {"type": "visitor_typing", "ticket_id", "typing", "name"}   a live contact
                                               (a chat visitor)
  {"type": "pong"}
  {"type": "error", "action": ..., "error": "not_found" | "invalid" | ...}
"""

from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from supportdesk import events
from supportdesk.json_input import MalformedJSONError, parse_json
from supportdesk.permissions import sees_every_team
from tickets.actions.tickets import channel_adapter
from tickets.models import Ticket, TimelineEvent
from tickets.presence import touch_agent
from tickets.selectors import (
    realtime_groups_for,
    ticket_for_agent,
    timeline_event_visible_to,
)

PRESENCE_MESSAGE_TYPE = "desk.presence"
# Close codes the client does not retry: the session is gone or was refused.
CLOSE_UNAUTHENTICATED = 4401
# Events after which a watched ticket may no longer be the agent's to see.
OWNERSHIP_CHANGES = frozenset(
    {events.TICKET_ROUTED, events.TICKET_REASSIGNED, events.TICKET_UPDATED}
)
# Events of this kind are relayed only to agents who may read them.
NOTE_KIND = TimelineEvent.Kind.NOTE.value
# How many relayed message ids are remembered to drop a copy from another group.
SEEN_IDS = 512


def presence_group(ticket_id: int) -> str:
    return f"presence.{ticket_id}"


@database_sync_to_async
def _groups_for(user) -> list[str]:
    return realtime_groups_for(user)


@database_sync_to_async
def _touch(user) -> None:
    touch_agent(user.pk)


@database_sync_to_async
def _live_contact_group(ticket: Ticket) -> str | None:
    adapter = channel_adapter(ticket.channel)
    contact = adapter.live_contact(ticket) if adapter else None
    return contact.group if contact else None


@database_sync_to_async
def _mark_read(ticket: Ticket) -> None:
    if adapter := channel_adapter(ticket.channel):
        adapter.mark_read_by_agent(ticket=ticket)


def _typing_event(ticket: Ticket, agent, *, typing: bool) -> dict:
    adapter = channel_adapter(ticket.channel)
    return adapter.agent_typing_event(agent=agent, typing=typing) if adapter else {}


@database_sync_to_async
def _readable(user, event_id: int) -> bool:
    return timeline_event_visible_to(user, event_id)


@database_sync_to_async
def _watchable(user, ticket_id: int) -> Ticket | None:
    try:
        return ticket_for_agent(user, ticket_id)
    except Ticket.DoesNotExist:
        return None


class DeskConsumer(AsyncJsonWebsocketConsumer):
    """One per browser tab of a signed-in desk user."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        # Supervisors (and every agent when agents see all teams) read every
        # note: no query for each one that arrives.
        self.reads_every_note = sees_every_team(user)
        # The watched ticket as loaded when watched (its channel and conversation
        # never change) and the groups joined for it.
        self.watched: tuple[Ticket, list[str]] | None = None
        # The widget group of the watched ticket's chat visitor, if it has one.
        self.visitor_group: str | None = None
        self.seen: deque[str] = deque(maxlen=SEEN_IDS)
        self.joined = await _groups_for(user)
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await _touch(user)

    async def disconnect(self, code):
        if not hasattr(self, "user"):
            return
        await self._unwatch()
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    # ------------------------------------------------------------ from the browser
    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Left to the base class, a frame that is not JSON text would end the
        # socket with an exception (close code 1011); it gets an error frame.
        if text_data is None:
            await self._error(None, "invalid", message="Frames are JSON text.")
            return
        try:
            content = await self.decode_json(text_data)
        except MalformedJSONError as exc:
            await self._error(None, "invalid", message=f"Not valid JSON: {exc}.")
            return
        await self.receive_json(content, **kwargs)

    @classmethod
    async def decode_json(cls, text_data):
        return parse_json(text_data)

    async def receive_json(self, content, **kwargs):
        action = content.get("action") if isinstance(content, dict) else None
        handler = {
            "watch_ticket": self._action_watch,
            "unwatch_ticket": self._action_unwatch,
            "typing": self._action_typing,
            "seen": self._action_seen,
            "ping": self._action_ping,
        }.get(action)
        if handler is None:
            await self._error(action, "unknown_action")
            return
        await handler(content)

    async def _action_watch(self, content):
        ticket_id = _ticket_id(content)
        if ticket_id is None:
            await self._error("watch_ticket", "invalid")
            return
        ticket = await _watchable(self.user, ticket_id)
        if ticket is None:
            await self._error("watch_ticket", "not_found", ticket_id=ticket_id)
            return
        if self._watched_id() == ticket.pk:
            # Already here: a repeated watch must not tell the others "left".
            await self.send_json({"type": "watching", "ticket_id": ticket.pk})
            return
        await self._unwatch()
        groups = [
            events.ticket_group(ticket.pk),
            events.customer_group(ticket.customer_id),
            presence_group(ticket.pk),
        ]
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.watched = (ticket, groups)
        self.visitor_group = await _live_contact_group(ticket)
        await self.send_json({"type": "watching", "ticket_id": ticket.pk})
        await self._announce("viewing", hello=True)
        if self.visitor_group:
            await _mark_read(ticket)

    async def _action_unwatch(self, content):
        await self._unwatch()

    async def _action_typing(self, content):
        ticket_id = _ticket_id(content)
        if ticket_id is None or ticket_id != self._watched_id():
            await self._error("typing", "not_watching", ticket_id=ticket_id)
            return
        typing = bool(content.get("typing", True))
        await self._announce("typing" if typing else "viewing")
        if self.visitor_group:
            await self.channel_layer.group_send(
                self.visitor_group,
                {
                    "type": events.LAYER_MESSAGE_TYPE,
                    "event": _typing_event(self.watched[0], self.user, typing=typing),
                },
            )

    async def _action_seen(self, content):
        ticket_id = _ticket_id(content)
        if ticket_id is None or ticket_id != self._watched_id():
            await self._error("seen", "not_watching", ticket_id=ticket_id)
            return
        if self.visitor_group:
            await _mark_read(self.watched[0])

    async def _action_ping(self, content):
        await _touch(self.user)
        await self.send_json({"type": "pong"})

    async def _unwatch(self):
        if self.watched is None:
            return
        await self._announce("left")
        if self.visitor_group:
            await self.channel_layer.group_send(
                self.visitor_group,
                {
                    "type": events.LAYER_MESSAGE_TYPE,
                    "event": _typing_event(self.watched[0], self.user, typing=False),
                },
            )
        for group in self.watched[1]:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.watched = None
        self.visitor_group = None

    def _watched_id(self) -> int | None:
        return self.watched[0].pk if self.watched is not None else None

    async def _announce(self, state: str, *, hello: bool = False):
        ticket_id = self._watched_id()
        await self.channel_layer.group_send(
            presence_group(ticket_id),
            {
                "type": PRESENCE_MESSAGE_TYPE,
                "sender": self.channel_name,
                "hello": hello,
                "event": self._presence(ticket_id, state),
            },
        )

    def _presence(self, ticket_id: int, state: str) -> dict:
        return {
            "type": "presence",
            "ticket_id": ticket_id,
            "agent_id": self.user.pk,
            "name": self.user.get_full_name() or self.user.username,
            "state": state,
        }

    async def _error(self, action, error: str, **fields):
        await self.send_json(
            {"type": "error", "action": action, "error": error, **fields}
        )

    # ---------------------------------------------------------- from the layer
    async def desk_event(self, message):
        # Several of this consumer's groups may carry the same publication.
        message_id = message.get("id")
        if message_id:
            if message_id in self.seen:
                return
            self.seen.append(message_id)
        event = message["event"]
        if (
            event.get("kind") == NOTE_KIND
            and not self.reads_every_note
            and not await _readable(self.user, event.get("event_id"))
        ):
            # The timeline's rule, live: a note only for those who may see its
            # ticket, whichever group brought it.
            return
        await self.send_json(event)
        if event.get("type") in OWNERSHIP_CHANGES and self._watching(event):
            await self._recheck_watch()

    def _watching(self, event: dict) -> bool:
        return self.watched is not None and event.get("ticket_id") == self._watched_id()

    async def _recheck_watch(self):
        """A ticket moved away from the agent's teams: its groups go quiet for them."""
        ticket_id = self._watched_id()
        if await _watchable(self.user, ticket_id) is not None:
            return
        await self._unwatch()
        await self._error("watch_ticket", "not_found", ticket_id=ticket_id)

    async def desk_presence(self, message):
        if message["sender"] == self.channel_name:
            return
        event = message["event"]
        if self._watched_id() != event["ticket_id"]:
            return
        await self.send_json(event)
        if message.get("hello"):
            # A newcomer learns who was already here, from each of them directly.
            await self.channel_layer.send(
                message["sender"],
                {
                    "type": PRESENCE_MESSAGE_TYPE,
                    "sender": self.channel_name,
                    "hello": False,
                    "event": self._presence(event["ticket_id"], "viewing"),
                },
            )


def _ticket_id(content: dict) -> int | None:
    value = content.get("ticket_id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None
