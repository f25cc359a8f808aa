"""Playing a scripted history through the desk's real doors, in time order.

A script is written customer by customer; each line becomes a step with the moment
it happened. Steps run sorted by that moment, with the desk's clock set to it, so
ticket ids, creation times, first responses and resolutions read like weeks of
work rather than one burst. Every step first checks whether it already happened,
which makes a second run a no-op.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from unittest import mock

from django.conf import settings
from django.utils import timezone

from channels_app.demo.desk import DemoDesk
from channels_app.ingest import process_inbound, submit_message
from channels_app.models import InboundRecord
from customers.actions import do_update_customer_profile
from supportdesk.celery import app as celery_app
from tickets.actions.routing import do_reassign_ticket, do_route_ticket
from tickets.actions.tickets import (
    do_add_note,
    do_assign_ticket,
    do_reply,
    do_resolve_ticket,
)
from tickets.inbound import IdentityClaim, InboundAttachment, InboundMessage
from tickets.models import Channel, Ticket, TimelineEvent


class DemoError(RuntimeError):
    """A scripted step could not be played; the message names it."""


@dataclass(frozen=True)
class MessageRef:
    """Points at a scripted customer message, and through it at its ticket."""

    channel: str
    external_id: str


@dataclass(frozen=True)
class _Step:
    at: datetime
    run: Callable[[], None]


@contextmanager
def desk_clock(at: datetime) -> Iterator[None]:
    """Make every timestamp the desk writes (auto_now_add included) read `at`."""
    with mock.patch.object(timezone, "now", return_value=at):
        yield


@contextmanager
def tasks_inline() -> Iterator[None]:
    """Run queued tasks in this process while the history is played.

    A worker elsewhere would stamp the tickets it routes with the real time
    rather than the scripted one.
    """
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


@contextmanager
def mail_kept_local() -> Iterator[None]:
    """Keep the history's mail in memory: the demo customers' addresses must never
    receive anything, whatever EMAIL_URL says."""
    previous = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    try:
        yield
    finally:
        settings.EMAIL_BACKEND = previous


@contextmanager
def providers_kept_local() -> Iterator[None]:
    """Replies of the history on other channels are recorded by the in-memory
    adapter: no provider API is called for the demo customers either."""
    previous = settings.CHANNEL_ADAPTERS
    memory = "channels_app.adapters.memory.MemoryAdapter"
    settings.CHANNEL_ADAPTERS = {
        key: path if key in ("api", "email") else memory
        for key, path in previous.items()
    }
    try:
        yield
    finally:
        settings.CHANNEL_ADAPTERS = previous


class Script:
    """Collects the steps of a demo history; play() runs them against the desk."""

    def __init__(self, *, now: datetime) -> None:
        self.now = now
        self.steps: list[_Step] = []
        self.scripted_messages = 0
        self.new_messages = 0
        self.desk: DemoDesk | None = None

    def at(self, days_ago: int, clock: str) -> datetime:
        """A moment `days_ago` days back at the UTC wall-clock time "HH:MM"."""
        hour, minute = (int(part) for part in clock.split(":"))
        day = self.now - timedelta(days=days_ago)
        return day.replace(hour=hour, minute=minute, second=0, microsecond=0)

    # ------------------------------------------------------------ scripting

    def message(
        self,
        *,
        at: datetime,
        channel: str,
        external_id: str,
        sender: str,
        claims: tuple[tuple[str, str], ...],
        text: str,
        subject: str = "",
        conversation: str = "",
        replies_to: tuple[str, ...] = (),
        attachments: tuple[InboundAttachment, ...] = (),
        language: str = "",
    ) -> MessageRef:
        inbound = InboundMessage(
            channel=channel,
            external_id=external_id,
            identities=tuple(IdentityClaim(kind, value) for kind, value in claims),
            sender_name=sender,
            subject=subject,
            text=text,
            occurred_at=at,
            replies_to=replies_to,
            conversation_key=conversation,
            # Mail threads by its headers; the other channels continue a chat.
            continues_open_conversation=channel != Channel.EMAIL,
            language=language,
            attachments=attachments,
        )
        self._add(at, self._deliver, inbound)
        self.scripted_messages += 1
        return MessageRef(channel=channel, external_id=external_id)

    def reply(
        self,
        *,
        at: datetime,
        ticket: MessageRef,
        agent: str,
        text: str,
        channel: str = "",
    ) -> None:
        self._add(at, self._reply, ticket, agent, text, channel)

    def note(self, *, at: datetime, ticket: MessageRef, agent: str, text: str) -> None:
        self._add(at, self._note, ticket, agent, text)

    def assign(self, *, at: datetime, ticket: MessageRef, agent: str) -> None:
        self._add(at, self._assign, ticket, agent)

    def resolve(
        self, *, at: datetime, ticket: MessageRef, agent: str, note: str
    ) -> None:
        self._add(at, self._resolve, ticket, agent, note)

    def reassign(
        self,
        *,
        at: datetime,
        ticket: MessageRef,
        supervisor: str,
        team: str,
        reason: str,
    ) -> None:
        self._add(at, self._reassign, ticket, supervisor, team, reason)

    def profile(
        self,
        *,
        at: datetime,
        customer_of: MessageRef,
        actor: str,
        segment: str,
        tags: list[str],
    ) -> None:
        self._add(at, self._profile, customer_of, actor, segment, tags)

    def _add(self, at: datetime, action: Callable, *args) -> None:
        if at >= self.now:
            raise DemoError(
                f"a scripted step at {at:%Y-%m-%d %H:%M} is not in the past"
            )
        self.steps.append(_Step(at=at, run=partial(action, *args)))

    # -------------------------------------------------------------- playing

    def play(self, desk: DemoDesk) -> None:
        self.desk = desk
        with tasks_inline(), mail_kept_local(), providers_kept_local():
            for step in sorted(self.steps, key=lambda step: step.at):
                with desk_clock(step.at):
                    step.run()

    def _ticket(self, ref: MessageRef) -> Ticket:
        try:
            return Ticket.objects.select_related("customer", "team").get(
                events__channel=ref.channel, events__external_id=ref.external_id
            )
        except Ticket.DoesNotExist:
            raise DemoError(f"no ticket holds the demo message {ref}") from None

    def _deliver(self, inbound: InboundMessage) -> None:
        record, created = submit_message(inbound)
        self.new_messages += created
        record.refresh_from_db()
        if record.status != InboundRecord.Status.PROCESSED:
            # No task ran it (a worker may not be up yet), or an earlier run
            # failed on it: the rest of the story needs its ticket now.
            record = process_inbound(record.pk)
        if record.status != InboundRecord.Status.PROCESSED:
            raise DemoError(
                f"demo message {inbound.external_id} was not ingested: {record.error}"
            )
        unrouted = Ticket.objects.filter(
            events__id__in=record.event_ids, routed_at__isnull=True
        ).values_list("id", flat=True)
        for ticket_id in unrouted:
            do_route_ticket(ticket_id=ticket_id)

    def _reply(self, ref: MessageRef, agent: str, text: str, channel: str) -> None:
        ticket = self._ticket(ref)
        if ticket.events.filter(
            kind=TimelineEvent.Kind.MESSAGE_OUT, text=text
        ).exists():
            return
        do_reply(
            ticket=ticket, author=self.desk.agents[agent], text=text, channel=channel
        )

    def _note(self, ref: MessageRef, agent: str, text: str) -> None:
        ticket = self._ticket(ref)
        if ticket.events.filter(kind=TimelineEvent.Kind.NOTE, text=text).exists():
            return
        do_add_note(ticket=ticket, author=self.desk.agents[agent], text=text)

    def _assign(self, ref: MessageRef, agent: str) -> None:
        ticket = self._ticket(ref)
        if ticket.assignee_id == self.desk.agents[agent].pk:
            return
        do_assign_ticket(
            ticket=ticket,
            assignee=self.desk.agents[agent],
            actor=self.desk.agents[agent],
        )

    def _resolve(self, ref: MessageRef, agent: str, note: str) -> None:
        ticket = self._ticket(ref)
        resolved = ticket.events.filter(
            kind=TimelineEvent.Kind.STATUS_CHANGE, text__contains=note
        )
        if resolved.exists():
            return
        do_resolve_ticket(
            ticket=ticket, actor=self.desk.agents[agent], resolution_note=note
        )

    def _reassign(
        self, ref: MessageRef, supervisor: str, team: str, reason: str
    ) -> None:
        ticket = self._ticket(ref)
        actor, to_team = self.desk.agents[supervisor], self.desk.teams[team]
        if ticket.route_changes.filter(actor=actor, to_team=to_team).exists():
            return
        do_reassign_ticket(ticket=ticket, to_team=to_team, actor=actor, reason=reason)

    def _profile(
        self, ref: MessageRef, actor: str, segment: str, tags: list[str]
    ) -> None:
        do_update_customer_profile(
            customer=self._ticket(ref).customer,
            actor=self.desk.agents[actor],
            segment=segment,
            tags=tags,
        )
