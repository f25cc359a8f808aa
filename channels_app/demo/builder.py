"""Playing the demo table through the desk's real doors, in time order.

Every step of every conversation becomes a moment; moments run sorted by time,
with the desk's clock set to each, so ticket ids, creation times, first responses
and resolutions read like weeks of work rather than one burst. Customers' messages
enter through channels_app.ingest; agents act through the ticket and customer
actions. Every step first checks whether it already happened, which makes a second
run a no-op.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from django.conf import settings
from django.utils import timezone

from channels_app.adapters.memory import recording
from channels_app.demo.desk import DemoDesk
from channels_app.demo.records import (
    Assign,
    Conversation,
    Message,
    Note,
    Person,
    Profile,
    Reassign,
    Reply,
    Resolve,
    Step,
    When,
)
from channels_app.ingest import process_inbound, submit_message
from channels_app.models import InboundRecord
from supportdesk.celery import app as celery_app
from tickets.actions.profiles import do_update_customer_profile
from tickets.actions.routing import do_reassign_ticket, do_route_ticket
from tickets.actions.tickets import (
    do_add_note,
    do_assign_ticket,
    do_reply,
    do_resolve_ticket,
)
from tickets.inbound import IdentityClaim, InboundMessage
from tickets.models import Channel, Ticket, TimelineEvent


class DemoError(RuntimeError):
    """A row of the table could not be played; the message names it."""


@dataclass(frozen=True)
class Moment:
    """One step of the table, with who and where it belongs to and when it ran."""

    at: datetime
    person: Person
    conversation: Conversation
    step: Step


@dataclass(frozen=True)
class Played:
    scripted_messages: int
    new_messages: int


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
    settings.CHANNEL_ADAPTERS = {
        key: path if key in ("api", "email") else recording(path)
        for key, path in previous.items()
    }
    try:
        yield
    finally:
        settings.CHANNEL_ADAPTERS = previous


def moments(people: Iterable[Person], *, now: datetime) -> list[Moment]:
    """Every step of the table at its moment, in time order; the whole table is
    checked before anything is played."""
    found = []
    for person in people:
        for conversation in person.conversations:
            opening(conversation)
            for step in conversation.steps:
                at = _moment(now, step.at)
                if at >= now:
                    raise DemoError(
                        f"a step of {person.name} at {at:%Y-%m-%d %H:%M} is not in "
                        "the past"
                    )
                found.append(Moment(at, person, conversation, step))
    # sorted() is stable: steps at the same minute keep the table's order.
    return sorted(found, key=lambda moment: moment.at)


def opening(conversation: Conversation) -> Message:
    """The customer's message that opened the conversation: it names the ticket."""
    first = conversation.steps[0]
    if not isinstance(first, Message):
        raise DemoError(f"a {conversation.channel} conversation opens with {first}")
    return first


def _moment(now: datetime, when: When) -> datetime:
    days_ago, clock = when
    hour, minute = (int(part) for part in clock.split(":"))
    day = now - timedelta(days=days_ago)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def play(people: Iterable[Person], *, desk: DemoDesk, now: datetime) -> Played:
    """Play the table against the desk; returns how many messages were new."""
    builder = _Builder(desk)
    timeline = moments(people, now=now)
    with tasks_inline(), mail_kept_local(), providers_kept_local():
        for moment in timeline:
            with desk_clock(moment.at):
                builder.doors[type(moment.step)](moment.step, moment)
    return Played(
        scripted_messages=sum(isinstance(m.step, Message) for m in timeline),
        new_messages=builder.new_messages,
    )


def inbound_message(message: Message, moment: Moment) -> InboundMessage:
    """What the customer's channel would have handed to ingest for this message."""
    person, conversation = moment.person, moment.conversation
    first = opening(conversation)
    subject = conversation.subject
    answers = message.id != first.id and bool(subject)
    claims = (person.reach[conversation.channel], *message.also_claims)
    return InboundMessage(
        channel=conversation.channel,
        external_id=message.id,
        identities=tuple(IdentityClaim(kind, value) for kind, value in claims),
        sender_name=person.name,
        subject=f"Re: {subject}" if answers else subject,
        text=message.text,
        occurred_at=moment.at,
        replies_to=(first.id,) if answers else (),
        conversation_key=conversation.session,
        # Mail threads by its headers; the other channels continue a chat.
        continues_open_conversation=conversation.channel != Channel.EMAIL,
        language=person.language,
        attachments=message.files,
    )


class _Builder:
    """Carries each kind of step through its door, once."""

    def __init__(self, desk: DemoDesk) -> None:
        self.desk = desk
        self.new_messages = 0
        self.doors: dict[type, Callable[[Any, Moment], None]] = {
            Message: self._deliver,
            Assign: self._assign,
            Reply: self._reply,
            Note: self._note,
            Resolve: self._resolve,
            Reassign: self._reassign,
            Profile: self._profile,
        }

    def _ticket(self, conversation: Conversation) -> Ticket:
        first = opening(conversation)
        try:
            return Ticket.objects.select_related("customer", "team").get(
                events__channel=conversation.channel, events__external_id=first.id
            )
        except Ticket.DoesNotExist:
            raise DemoError(f"no ticket holds the demo message {first.id}") from None

    def _deliver(self, message: Message, moment: Moment) -> None:
        inbound = inbound_message(message, moment)
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

    def _assign(self, assign: Assign, moment: Moment) -> None:
        ticket = self._ticket(moment.conversation)
        agent = self.desk.agents[assign.agent]
        if ticket.assignee_id == agent.pk:
            return
        do_assign_ticket(ticket=ticket, assignee=agent, actor=agent)

    def _reply(self, reply: Reply, moment: Moment) -> None:
        ticket = self._ticket(moment.conversation)
        sent = ticket.events.filter(
            kind=TimelineEvent.Kind.MESSAGE_OUT, text=reply.text
        )
        if sent.exists():
            return
        do_reply(
            ticket=ticket,
            author=self.desk.agents[reply.agent],
            text=reply.text,
            channel=reply.channel,
        )

    def _note(self, note: Note, moment: Moment) -> None:
        ticket = self._ticket(moment.conversation)
        if ticket.events.filter(kind=TimelineEvent.Kind.NOTE, text=note.text).exists():
            return
        do_add_note(ticket=ticket, author=self.desk.agents[note.agent], text=note.text)

    def _resolve(self, resolve: Resolve, moment: Moment) -> None:
        ticket = self._ticket(moment.conversation)
        resolved = ticket.events.filter(
            kind=TimelineEvent.Kind.STATUS_CHANGE, text__contains=resolve.note
        )
        if resolved.exists():
            return
        do_resolve_ticket(
            ticket=ticket,
            actor=self.desk.agents[resolve.agent],
            resolution_note=resolve.note,
        )

    def _reassign(self, move: Reassign, moment: Moment) -> None:
        ticket = self._ticket(moment.conversation)
        actor, to_team = self.desk.agents[move.supervisor], self.desk.teams[move.team]
        if ticket.route_changes.filter(actor=actor, to_team=to_team).exists():
            return
        do_reassign_ticket(
            ticket=ticket, to_team=to_team, actor=actor, reason=move.reason
        )

    def _profile(self, profile: Profile, moment: Moment) -> None:
        do_update_customer_profile(
            customer=self._ticket(moment.conversation).customer,
            actor=self.desk.agents[profile.actor],
            segment=profile.segment,
            tags=list(profile.tags),
        )
