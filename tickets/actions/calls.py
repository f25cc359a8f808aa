"""Phone calls on the timeline: logged by agents, or reported by a voice provider
(those arrive through ingestion as call events; their recordings come here)."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app.adapters.phone import DIRECTIONS, OUTCOMES, call_summary
from customers.actions import do_resolve_sender
from supportdesk import events
from supportdesk.oncommit import enqueue_on_commit, publish_on_commit
from tickets.actions.timeline import publish_event
from tickets.inbound import CallRecording, IdentityClaim, InboundError
from tickets.models import (
    OPEN_STATUSES,
    Channel,
    Ticket,
    TicketStatus,
    TimelineEvent,
)

# A call longer than a day is a typing slip.
MAX_CALL_SECONDS = 24 * 3600
MAX_NOTE_CHARS = 10_000


class CallLogError(ValueError):
    pass


def _check(direction: str, outcome: str, duration_seconds: int, note: str) -> None:
    if direction not in DIRECTIONS:
        raise CallLogError(f"direction must be one of {', '.join(DIRECTIONS)}")
    if outcome not in OUTCOMES:
        raise CallLogError(f"outcome must be one of {', '.join(OUTCOMES)}")
    if not 0 <= duration_seconds <= MAX_CALL_SECONDS:
        raise CallLogError(f"a call lasts between 0 and {MAX_CALL_SECONDS} seconds")
    if len(note) > MAX_NOTE_CHARS:
        raise CallLogError(f"a call note has at most {MAX_NOTE_CHARS} characters")


def _claims(number: str, owner) -> list[IdentityClaim]:
    claims = [IdentityClaim("phone", number)]
    if owner is not None:
        # A number new to the desk joins the customer of the first known claim:
        # naming one of the owner's identities files it under the owner. A number
        # that is someone else's already stays theirs, with a merge suggestion.
        anchor = owner.identities.order_by("pk").first()
        if anchor is not None:
            claims.append(IdentityClaim(anchor.kind, anchor.value))
    return claims


def _open_phone_ticket(customer, *, direction: str, number: str, at) -> Ticket:
    """The customer's open phone ticket, or a new one routed like any other."""
    ticket = (
        Ticket.objects.select_for_update(of=("self",), no_key=True)
        .filter(customer=customer, channel=Channel.PHONE, status__in=OPEN_STATUSES)
        .order_by("-last_message_at", "-id")
        .first()
    )
    if ticket is not None:
        return ticket
    from tickets.tasks import route_ticket

    subject = f"Call from {number}" if direction == "inbound" else f"Call to {number}"
    ticket = Ticket.objects.create(
        customer=customer, channel=Channel.PHONE, subject=subject, last_message_at=at
    )
    publish_on_commit(
        {
            "type": events.TICKET_CREATED,
            "ticket_id": ticket.pk,
            "customer_id": customer.pk,
            "channel": ticket.channel,
        },
        events.ticket_groups(ticket),
    )
    enqueue_on_commit(route_ticket, ticket.pk)
    return ticket


@transaction.atomic
def do_log_call(
    *,
    author,
    direction: str,
    number: str,
    duration_seconds: int,
    outcome: str,
    note: str = "",
    ticket: Ticket | None = None,
    customer=None,
    occurred_at: datetime | None = None,
) -> TimelineEvent:
    """An agent's record of a call, on the caller's timeline.

    The number (E.164 once normalised) finds the customer, or becomes one. Linked
    to a ticket, the call goes on that ticket and the number joins its customer;
    otherwise it joins the customer's open phone ticket, or opens one.
    InvalidIdentityError for a number that is not a phone number.
    """
    note = note.strip()
    _check(direction, outcome, duration_seconds, note)
    owner = ticket.customer if ticket is not None else customer
    sender = do_resolve_sender(claims=_claims(number, owner))
    customer = owner or sender.customer
    at = occurred_at or timezone.now()
    if ticket is None:
        ticket = _open_phone_ticket(
            customer, direction=direction, number=sender.identity.value, at=at
        )
    else:
        ticket = Ticket.objects.select_for_update(of=("self",), no_key=True).get(
            pk=ticket.pk
        )
    summary = call_summary(
        direction=direction, outcome=outcome, duration_seconds=duration_seconds
    )
    event = TimelineEvent.objects.create(
        customer=customer,
        ticket=ticket,
        channel=Channel.PHONE,
        kind=TimelineEvent.Kind.CALL,
        author=author,
        sender_identity=sender.identity,
        sender_name=author.get_full_name() or author.username,
        subject=ticket.subject,
        text="\n\n".join(filter(None, [summary, note])),
        metadata={
            "source": "agent",
            "direction": direction,
            "number": sender.identity.value,
            "duration_seconds": duration_seconds,
            "outcome": outcome,
            "note": note,
        },
        occurred_at=at,
    )
    _touch(ticket, at, answered=outcome == "answered")
    publish_event(event)
    return event


def _touch(ticket: Ticket, at, *, answered: bool) -> None:
    fields = ["last_message_at", "updated_at"]
    ticket.last_message_at = max(filter(None, [ticket.last_message_at, at]))
    if answered:
        # Talking to the customer answers them, as a reply would.
        if ticket.first_response_at is None:
            ticket.first_response_at = at
            fields.append("first_response_at")
        if ticket.status == TicketStatus.NEW:
            ticket.status = TicketStatus.OPEN
            fields.append("status")
    ticket.save(update_fields=fields)


@transaction.atomic
def do_attach_call_recording(*, recording: CallRecording) -> TimelineEvent:
    """Add a recording's link to its call; the same recording twice changes nothing.

    A recording reported before its call fails the stored payload, so it can be
    replayed once the call is on the timeline.
    """
    event = (
        TimelineEvent.objects.select_for_update(of=("self",), no_key=True)
        .select_related("ticket")
        .filter(
            channel=recording.channel,
            external_id=recording.external_id,
            kind=TimelineEvent.Kind.CALL,
        )
        .first()
    )
    if event is None:
        raise InboundError(
            f"no call {recording.external_id} on the timeline for its recording yet"
        )
    url = recording.recording_url
    recordings = event.metadata.setdefault("recordings", [])
    if url == event.metadata.get("recording_url") or any(
        entry.get("url") == url for entry in recordings
    ):
        return event
    recordings.append(
        {
            "id": recording.recording_id,
            "url": url,
            "duration_seconds": recording.duration_seconds,
            "at": timezone.now().isoformat(),
        }
    )
    event.metadata["recording_url"] = url
    event.text = f"{event.text}\nRecording: {url}"[: settings.MAX_MESSAGE_TEXT_CHARS]
    event.save(update_fields=["text", "metadata"])
    publish_event(event)
    return event
