"""What a customer sends, put on their timeline: the one door by which messages
and calls from outside open, continue and reopen tickets.

Channels parse their payloads into an InboundMessage and call do_record_inbound();
agents logging a call come through it too, so every ticket a customer starts is
opened, threaded and reopened the same way.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from customers.actions import ResolvedSender, do_resolve_sender
from customers.models import Customer
from supportdesk.oncommit import enqueue_on_commit, run_on_commit
from supportdesk.registry import message_channels
from supportdesk.sanitize import html_to_text, sanitize_html
from tickets.actions.routing import do_give_new_ticket
from tickets.actions.tickets import InboxRow, do_change_status
from tickets.actions.timeline import publish_event, publish_ticket_created
from tickets.inbound import InboundError, InboundMessage
from tickets.models import (
    OPEN_STATUSES,
    Agent,
    Attachment,
    Team,
    Ticket,
    TicketStatus,
    TimelineEvent,
)
from tickets.search import add_to_search_document
from tickets.tasks import route_ticket

_EVENT_KINDS = {
    "message_in": TimelineEvent.Kind.MESSAGE_IN,
    "call": TimelineEvent.Kind.CALL,
}


@dataclass(frozen=True)
class Logged:
    """An agent's record of a contact (a call they took or made), as opposed to
    something the customer sent: it is authored by the agent, goes on the ticket
    it names (or the customer's open ticket on its channel, however old), and
    never reopens a ticket."""

    author: Agent
    ticket: Ticket | None = None
    customer: Customer | None = None
    # Talking to the customer answers them, as a reply would.
    answers_customer: bool = False
    # The tickets the author may see, when not every one: without a named ticket
    # the contact joins an open one of these, never another team's.
    within: QuerySet[Ticket] | None = None
    # Takes a ticket the contact opens, in place of the routing rules.
    team: Team | None = None


class _AlreadyStored(Exception):
    pass


def do_record_inbound(
    *,
    message: InboundMessage,
    inbox: InboxRow | None = None,
    logged: Logged | None = None,
) -> TimelineEvent:
    """Put one inbound message on its customer's timeline. Idempotent: the same
    (channel, external id) recorded again returns the stored event."""
    try:
        return _record(message, inbox, logged)
    except _AlreadyStored:
        # The same provider message was stored before, or arrives through another
        # door at the same time; everything this attempt wrote is rolled back.
        return TimelineEvent.objects.get(
            channel=message.channel, external_id=message.external_id[:255]
        )


def _check(message: InboundMessage) -> None:
    # Stored as the ticket's channel: "internal" would pass for the desk's own.
    if not message.channel:
        raise InboundError("the message names no channel")
    if message.channel not in message_channels():
        raise InboundError(f"unknown channel {message.channel[:40]!r}")
    if message.event_kind not in _EVENT_KINDS:
        raise InboundError(f"unknown event kind {message.event_kind[:40]!r}")
    limit = settings.MAX_MESSAGE_TEXT_CHARS
    for name in ("text", "html", "quoted_text"):
        size = len(getattr(message, name))
        if size > limit:
            raise InboundError(
                f"message {name} is {size} characters; the limit is {limit}"
            )


@transaction.atomic
def _record(
    message: InboundMessage, inbox: InboxRow | None, logged: Logged | None
) -> TimelineEvent:
    _check(message)
    # A message stored before is found by the unique constraint on its external
    # id when its event is written below: the caller then gets the stored one.
    sender = do_resolve_sender(
        claims=message.identities,
        display_name=message.sender_name,
        language=message.language[:16],
    )
    owner = logged and (
        logged.ticket.customer if logged.ticket is not None else logged.customer
    )
    customer = owner or sender.customer
    clean_html = sanitize_html(message.html)
    text = message.text.strip() or html_to_text(clean_html)
    occurred_at = message.occurred_at or timezone.now()

    if logged is not None:
        ticket = logged.ticket or _open_ticket_on_channel(
            customer, message.channel, within=logged.within
        )
    else:
        ticket = _thread(message, customer, new_customer=sender.new_customer)
    new_ticket = ticket is None and not message.automated
    if new_ticket:
        ticket = _open_ticket(message, customer, inbox, text, occurred_at)
    elif ticket is not None:
        ticket = Ticket.objects.select_for_update(of=("self",), no_key=True).get(
            pk=ticket.pk
        )
    event = _append(
        message,
        customer=customer,
        ticket=ticket,
        inbox=inbox,
        sender=sender,
        author=logged.author if logged else None,
        text=text,
        clean_html=clean_html,
        occurred_at=occurred_at,
    )
    _store_attachments(event, message)
    if ticket is not None:
        # The search finds the ticket by its subject and every message's words.
        add_to_search_document(
            ticket_id=ticket.pk,
            texts=[ticket.subject if new_ticket else "", event.text],
        )
    if ticket is not None and not message.automated and not new_ticket:
        _touch(ticket, occurred_at, reopen=logged is None)
    if ticket is not None and logged is not None and logged.answers_customer:
        _answered(ticket, occurred_at)
    # One event tells of the message and, with new_ticket, of the ticket it opened;
    # a call that opened one announces the ticket apart.
    publish_event(event, new_ticket=new_ticket)
    if new_ticket and ticket is not None:
        if event.kind != TimelineEvent.Kind.MESSAGE_IN:
            publish_ticket_created(ticket)
        if logged is None:
            # Routed by this worker right after the commit; the task is queued
            # only when that fails, and the sweep still finds a ticket both left
            # unrouted.
            run_on_commit(route_ticket, ticket.pk)
        elif logged.team is not None:
            # Announced as routing is, once the ticket and its first event are.
            do_give_new_ticket(
                ticket=ticket,
                team=logged.team,
                actor=logged.author,
                reason="Opened by a call an agent of the team logged.",
            )
        else:
            # An agent's request does not wait for routing: a worker does it.
            enqueue_on_commit(route_ticket, ticket.pk)
    return event


def _named_ticket(message: InboundMessage, customer: Customer) -> Ticket | None:
    """A ticket the message names: by a verified reply token, or by a ticket number
    in its subject when the sender is that ticket's customer."""
    if not (message.ticket_token or message.subject_ticket):
        return None
    tickets = Ticket.objects.exclude(status=TicketStatus.CLOSED)
    if message.ticket_token:
        ticket = tickets.filter(pk=message.ticket_token).first()
        if ticket:
            return ticket
    if message.subject_ticket:
        return tickets.filter(pk=message.subject_ticket, customer=customer).first()
    return None


def _thread(
    message: InboundMessage, customer: Customer, *, new_customer: bool = False
) -> Ticket | None:
    """The ticket this message continues, or None for a new conversation."""
    named = _named_ticket(message, customer)
    if named or new_customer:
        # A customer created by this message has no ticket of their own yet.
        return named
    if message.replies_to:
        answered = (
            TimelineEvent.objects.filter(
                external_id__in=message.replies_to,
                ticket__isnull=False,
                # Only the customer's own tickets: a message id seen in a copy of
                # a mail must not let someone else write into a ticket.
                ticket__customer=customer,
            )
            .exclude(ticket__status=TicketStatus.CLOSED)
            .select_related("ticket")
            .order_by("-occurred_at", "-id")
            .first()
        )
        if answered:
            return answered.ticket
    open_tickets = _open_tickets(customer, message.channel)
    if message.conversation_key:
        ticket = open_tickets.filter(conversation_key=message.conversation_key).first()
        if ticket:
            return ticket
    if message.continues_open_conversation:
        since = timezone.now() - timedelta(hours=settings.REOPEN_WINDOW_HOURS)
        return open_tickets.filter(last_message_at__gte=since).first()
    return None


def _open_tickets(customer: Customer, channel: str) -> QuerySet[Ticket]:
    return Ticket.objects.filter(
        customer=customer, channel=channel, status__in=OPEN_STATUSES
    ).order_by("-last_message_at", "-id")


def _open_ticket_on_channel(
    customer: Customer, channel: str, *, within: QuerySet[Ticket] | None = None
) -> Ticket | None:
    tickets = _open_tickets(customer, channel)
    if within is not None:
        tickets = tickets.filter(pk__in=within.values("pk"))
    return tickets.first()


def _subject_for(message: InboundMessage, text: str) -> str:
    if message.subject.strip():
        return message.subject.strip()[:300]
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return (first_line[:77] + "…") if len(first_line) > 80 else first_line


def _open_ticket(
    message: InboundMessage,
    customer: Customer,
    inbox: InboxRow | None,
    text: str,
    occurred_at: datetime,
) -> Ticket:
    return Ticket.objects.create(
        customer=customer,
        channel=message.channel,
        subject=_subject_for(message, text),
        language=message.language[:16],
        conversation_key=message.conversation_key[:255],
        inbox=inbox,
        last_message_at=occurred_at,
    )


def _append(
    message: InboundMessage,
    *,
    customer: Customer,
    ticket: Ticket | None,
    inbox: InboxRow | None,
    sender: ResolvedSender,
    author: Agent | None,
    text: str,
    clean_html: str,
    occurred_at: datetime,
) -> TimelineEvent:
    metadata = dict(message.metadata)
    if author is None:
        # What the customer's message answered: later replies thread on it.
        metadata["replies_to"] = list(message.replies_to)
    try:
        # No savepoint: on _AlreadyStored the caller's atomic block rolls back
        # everything the attempt wrote.
        with transaction.atomic(savepoint=False):
            return TimelineEvent.objects.create(
                customer=customer,
                ticket=ticket,
                channel=message.channel,
                kind=(
                    TimelineEvent.Kind.SYSTEM
                    if message.automated
                    else _EVENT_KINDS[message.event_kind]
                ),
                inbox=inbox,
                author=author,
                sender_identity=sender.identity,
                sender_name=message.sender_name[:200],
                # A logged call is filed under its ticket's subject.
                subject=(ticket.subject if author and ticket else message.subject)[
                    :300
                ],
                text=text,
                quoted_text=message.quoted_text,
                html=clean_html,
                external_id=message.external_id[:255],
                metadata=metadata,
                occurred_at=occurred_at,
            )
    except IntegrityError:
        raise _AlreadyStored from None


def _touch(ticket: Ticket, occurred_at: datetime, *, reopen: bool) -> None:
    # The row is locked: a concurrent message may have reopened it already, or an
    # agent resolved it, since the ticket was chosen, and it was read again since.
    ticket.last_message_at = max(filter(None, [ticket.last_message_at, occurred_at]))
    ticket.save(update_fields=["last_message_at", "updated_at"])
    if reopen and ticket.status in (TicketStatus.PENDING, TicketStatus.RESOLVED):
        # A customer writing again wants an answer: the ticket is open again,
        # through the same change an agent makes, so pages and webhooks hear of it.
        do_change_status(
            ticket=ticket,
            status=TicketStatus.OPEN,
            reason="the customer wrote again",
        )


def _answered(ticket: Ticket, at: datetime) -> None:
    fields = []
    if ticket.first_response_at is None:
        ticket.first_response_at = at
        fields.append("first_response_at")
    if ticket.status == TicketStatus.NEW:
        ticket.status = TicketStatus.OPEN
        fields.append("status")
    if fields:
        ticket.save(update_fields=[*fields, "updated_at"])


def _store_attachments(event: TimelineEvent, message: InboundMessage) -> None:
    limit = settings.MAX_ATTACHMENT_BYTES
    rows, notes = [], []
    for item in message.attachments:
        too_large = len(item.content) > limit
        if too_large:
            notes.append(
                f"Attachment {item.name or '(no name)'} is {len(item.content)} bytes, "
                f"over the {limit}-byte limit: its bytes stay in the raw inbound "
                "record."
            )
        rows.append(
            Attachment(
                event=event,
                name=item.name[:255],
                content_type=item.content_type[:127],
                size=len(item.content),
                sha256=item.sha256,
                content_id=item.content_id[:255],
                inline=item.inline,
                data=b"" if too_large else item.content,
            )
        )
    if rows:
        Attachment.objects.bulk_create(rows)
    if notes:
        # After any notes the adapter made (media it did not download, say).
        event.metadata["notes"] = [*event.metadata.get("notes", []), *notes]
        event.save(update_fields=["metadata"])
