"""Changes to a ticket's status, assignee and conversation."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from customers.models import Identity
from supportdesk import events
from supportdesk.errors import ActionError
from supportdesk.oncommit import enqueue_on_commit, publish_on_commit, run_on_commit
from supportdesk.registry import (
    UnknownChannelError,
    recipient_kinds,
    reply_adapter,
    sending_adapter,
)
from supportdesk.sanitize import html_to_text, sanitize_html
from tickets.actions.timeline import do_append_system_event, publish_event
from tickets.models import Agent, Ticket, TicketStatus, TimelineEvent
from tickets.search import add_to_search_document
from tickets.tasks import send_outbound
from tickets.windows import reply_window_refusal

# channels_app's Inbox: a row of the layer above tickets, which tickets may not
# import, so it is typed loosely.
InboxRow = Any


class TicketActionError(ActionError):
    pass


def _locked(ticket: Ticket) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",), no_key=True)
        .select_related("customer", "team")
        .get(pk=ticket.pk)
    )


def channel_adapter(channel: str) -> Any:
    """The adapter of a timeline channel, or None for the desk's own.

    Typed loosely: adapters are channels_app's classes, which tickets reaches
    through the registry and may not import.
    """
    try:
        return reply_adapter(channel)
    except UnknownChannelError:
        return None


def publish_ticket_update(ticket: Ticket, **fields: Any) -> None:
    publish_on_commit(
        {"type": events.TICKET_UPDATED, "ticket_id": ticket.pk, **fields},
        events.ticket_groups(ticket),
    )


@transaction.atomic
def do_change_status(
    *,
    ticket: Ticket,
    status: str,
    actor: Agent | None = None,
    resolution_note: str = "",
    reason: str = "",
) -> Ticket:
    """Move a ticket to another status; `reason` says why when no agent did."""
    if status not in TicketStatus.values:
        raise TicketActionError(f"unknown status {status!r}")
    ticket = _locked(ticket)
    if ticket.status == status:
        return ticket
    note = resolution_note.strip()
    if status == TicketStatus.RESOLVED and not note:
        raise TicketActionError("resolving a ticket needs a resolution note")
    previous = ticket.status
    ticket.status = status
    fields = ["status", "updated_at"]
    if status == TicketStatus.RESOLVED:
        ticket.resolution_note = note
        ticket.resolved_at = timezone.now()
        fields += ["resolution_note", "resolved_at"]
    ticket.save(update_fields=fields)
    text = f"Status {previous} → {status}" + (f": {reason}." if reason else ".")
    if note:
        text += f" Resolution: {note}"
    do_append_system_event(
        customer=ticket.customer,
        ticket=ticket,
        kind="status_change",
        author=actor,
        text=text,
        metadata={"from": previous, "to": status},
    )
    publish_ticket_update(ticket, status=status)
    if adapter := channel_adapter(ticket.channel):
        # The chat widget tells the customer and offers a rating, say.
        adapter.ticket_status_changed(ticket=ticket, previous=previous)
    return ticket


def do_resolve_ticket(
    *, ticket: Ticket, actor: Agent | None, resolution_note: str
) -> Ticket:
    return do_change_status(
        ticket=ticket,
        status=TicketStatus.RESOLVED,
        actor=actor,
        resolution_note=resolution_note,
    )


@transaction.atomic
def do_assign_ticket(
    *, ticket: Ticket, assignee: Agent | None, actor: Agent | None = None
) -> Ticket:
    ticket = _locked(ticket)
    if assignee is not None and not assignee.teams.filter(pk=ticket.team_id).exists():
        raise TicketActionError(f"{assignee} is not in the team that owns this ticket")
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    name = (assignee.get_full_name() or assignee.username) if assignee else ""
    do_append_system_event(
        customer=ticket.customer,
        ticket=ticket,
        kind=TimelineEvent.Kind.SYSTEM,
        author=actor,
        text=f"Assigned to {name}." if assignee else "Unassigned.",
        metadata={"assignee_id": assignee.pk if assignee else None},
    )
    publish_ticket_update(ticket, assignee_id=assignee.pk if assignee else None)
    return ticket


def check_assign_ticket(
    *, ticket: Ticket, assignee_id: int | str | None, actor: Agent | None = None
) -> Ticket:
    """Assign the ticket to the agent an untrusted request names by id: only an
    active agent of the owning team can take it; no id unassigns."""
    assignee = None
    if assignee_id is not None:
        team = ticket.team.agents.filter(is_active=True) if ticket.team else []
        assignee = next((a for a in team if str(a.pk) == str(assignee_id)), None)
        if assignee is None:
            raise TicketActionError("only an agent of the owning team can take it")
    return do_assign_ticket(ticket=ticket, assignee=assignee, actor=actor)


@transaction.atomic
def do_change_priority(
    *, ticket: Ticket, priority: str, actor: Agent | None = None
) -> Ticket:
    if priority not in Ticket.Priority.values:
        raise TicketActionError(f"unknown priority {priority!r}")
    ticket = _locked(ticket)
    if ticket.priority == priority:
        return ticket
    previous = ticket.priority
    ticket.priority = priority
    ticket.save(update_fields=["priority", "updated_at"])
    do_append_system_event(
        customer=ticket.customer,
        ticket=ticket,
        kind=TimelineEvent.Kind.SYSTEM,
        author=actor,
        text=f"Priority {previous} → {priority}.",
        metadata={"priority_from": previous, "priority_to": priority},
    )
    publish_ticket_update(ticket, priority=priority)
    return ticket


def recipient_identity(ticket: Ticket, channel: str) -> Identity:
    kinds = recipient_kinds(channel)
    reachable = ticket.customer.identities.filter(kind__in=kinds)
    # A customer with two addresses is answered at the one they last wrote from on
    # this ticket; otherwise at their oldest identity of the best kind.
    wrote_from = (
        ticket.events.filter(
            kind=TimelineEvent.Kind.MESSAGE_IN, sender_identity__in=reachable
        )
        .order_by("-occurred_at", "-id")
        .select_related("sender_identity")
        .first()
    )
    if wrote_from is not None and wrote_from.sender_identity is not None:
        return wrote_from.sender_identity
    identities: dict[str, Identity] = {}
    for identity in reachable.order_by("-pk"):
        identities[identity.kind] = identity
    for kind in kinds:
        if kind in identities:
            return identities[kind]
    raise TicketActionError(f"{ticket.customer} has no identity to reach on {channel}")


def reply_inbox(ticket: Ticket, channel: str) -> InboxRow | None:
    """The inbox a reply leaves through: the ticket's own on its channel, else the
    one the customer last wrote to on that channel, else none (the default)."""
    if ticket.inbox_id and ticket.channel == channel:
        return ticket.inbox
    last = (
        TimelineEvent.objects.filter(
            customer=ticket.customer, channel=channel, inbox__isnull=False
        )
        .order_by("-occurred_at", "-id")
        .select_related("inbox")
        .first()
    )
    return last.inbox if last else None


@transaction.atomic
def do_reply(
    *, ticket: Ticket, author: Agent, text: str, channel: str = "", html: str = ""
) -> TimelineEvent:
    """Store an agent's reply as queued; a task hands it to the channel's adapter."""
    ticket = _locked(ticket)
    channel = channel or ticket.channel
    identity = recipient_identity(ticket, channel)
    if refusal := reply_window_refusal(ticket, channel):
        raise TicketActionError(refusal)
    clean_html = sanitize_html(html)
    text = text.strip() or html_to_text(clean_html)
    if not text:
        raise TicketActionError("a reply needs some text")
    return queue_outgoing(
        ticket=ticket,
        author=author,
        channel=channel,
        identity=identity,
        text=text,
        html=clean_html,
    )


def queue_outgoing(
    *,
    ticket: Ticket,
    author: Agent,
    channel: str,
    identity: Identity,
    text: str,
    html: str = "",
    metadata: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Store an outgoing message as queued on a locked ticket, count it as the
    ticket's answer, and hand it to the send task after commit."""

    now = timezone.now()
    event = TimelineEvent.objects.create(
        customer=ticket.customer,
        ticket=ticket,
        channel=channel,
        inbox=reply_inbox(ticket, channel),
        kind=TimelineEvent.Kind.MESSAGE_OUT,
        author=author,
        sender_name=author.get_full_name() or author.username,
        subject=ticket.subject,
        text=text,
        html=html,
        delivery_status=TimelineEvent.Delivery.QUEUED,
        metadata={"recipient_identity_id": identity.pk, **(metadata or {})},
        occurred_at=now,
    )
    add_to_search_document(ticket_id=ticket.pk, texts=[event.text])
    fields = ["last_message_at", "updated_at"]
    ticket.last_message_at = now
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        fields.append("first_response_at")
    if ticket.status == TicketStatus.NEW:
        ticket.status = TicketStatus.OPEN
        fields.append("status")
    ticket.save(update_fields=fields)
    publish_event(event)
    try:
        adapter = sending_adapter(channel, event.inbox)
    except UnknownChannelError:
        adapter = None
    if adapter is not None and adapter.sends_in_process:
        # Should it fail here, the send task is queued and retries as usual.
        run_on_commit(send_outbound, event.pk)
    else:
        enqueue_on_commit(send_outbound, event.pk)
    return event


@transaction.atomic
def do_add_note(*, ticket: Ticket, author: Agent, text: str) -> TimelineEvent:
    """An internal note: on the timeline for agents, never sent anywhere."""
    if not text.strip():
        raise TicketActionError("a note needs some text")
    return do_append_system_event(
        customer=ticket.customer,
        ticket=ticket,
        kind=TimelineEvent.Kind.NOTE,
        author=author,
        text=text.strip(),
    )
