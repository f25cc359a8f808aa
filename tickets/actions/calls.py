"""Phone calls on the timeline: logged by agents, or reported by a voice provider
(those arrive through ingestion as call events; their recordings come here)."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from customers.identities import normalise_phone
from customers.models import Customer
from customers.selectors import IdentityNotFoundError, customer_for_identity
from supportdesk.errors import ActionError
from supportdesk.permissions import sees_every_team
from tickets.actions.inbound import Logged, do_record_inbound
from tickets.actions.timeline import publish_event
from tickets.calls import DIRECTIONS, OUTCOMES, call_summary
from tickets.inbound import CallRecording, IdentityClaim, InboundError, InboundMessage
from tickets.models import Agent, Channel, Team, Ticket, TimelineEvent
from tickets.search import add_to_search_document
from tickets.selectors import tickets_visible_to

# A call longer than a day is a typing slip.
MAX_CALL_SECONDS = 24 * 3600
MAX_NOTE_CHARS = 10_000


class CallLogError(ActionError):
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


def _claims(number: str, owner: Customer | None) -> list[IdentityClaim]:
    claims = [IdentityClaim("phone", number)]
    if owner is not None:
        # A number new to the desk joins the customer of the first known claim:
        # naming one of the owner's identities files it under the owner. A number
        # that is someone else's already stays theirs, with a merge suggestion.
        anchor = owner.identities.order_by("pk").first()
        if anchor is not None:
            claims.append(IdentityClaim(anchor.kind, anchor.value))
    return claims


@transaction.atomic
def do_log_call(
    *,
    author: Agent,
    direction: str,
    number: str,
    duration_seconds: int,
    outcome: str,
    note: str = "",
    ticket: Ticket | None = None,
    customer: Customer | None = None,
    occurred_at: datetime | None = None,
) -> TimelineEvent:
    """An agent's record of a call, on the caller's timeline.

    The number (E.164 once normalised) finds the customer, or becomes one. Linked
    to a ticket, the call goes on that ticket and the number joins its customer;
    otherwise it joins the customer's open phone ticket that the agent may see,
    or opens one. That one is routed like any other, except for a caller the
    agent may not see (another team's customer): the agent's own team takes it,
    so the call never lands on, or names, a ticket of another team. The caller
    keeps one customer record and one timeline.
    InvalidIdentityError for a number that is not a phone number.
    """
    note = note.strip()
    _check(direction, outcome, duration_seconds, note)
    owner = ticket.customer if ticket is not None else customer
    number = normalise_phone(number)
    within = team = None
    if ticket is None and not sees_every_team(author):
        within = tickets_visible_to(author)
        caller = owner or _customer_of(number)
        if caller is not None and not within.filter(customer=caller).exists():
            team = _first_team(author)
    summary = call_summary(
        direction=direction, outcome=outcome, duration_seconds=duration_seconds
    )
    message = InboundMessage(
        channel=Channel.PHONE,
        external_id="",
        event_kind="call",
        identities=tuple(_claims(number, owner)),
        sender_name=author.get_full_name() or author.username,
        subject=f"Call from {number}"
        if direction == "inbound"
        else f"Call to {number}",
        text="\n\n".join(filter(None, [summary, note])),
        metadata={
            "source": "agent",
            "direction": direction,
            "number": number,
            "duration_seconds": duration_seconds,
            "outcome": outcome,
            "note": note,
        },
        occurred_at=occurred_at or timezone.now(),
    )
    return do_record_inbound(
        message=message,
        logged=Logged(
            author=author,
            ticket=ticket,
            customer=owner,
            answers_customer=outcome == "answered",
            within=within,
            team=team,
        ),
    )


def _customer_of(number: str) -> Customer | None:
    try:
        return customer_for_identity(kind="phone", value=number)
    except IdentityNotFoundError:
        return None


def _first_team(agent: Agent) -> Team | None:
    """The team an agent joined first; None for an agent of no team, whose call
    is then routed by the rules."""
    return (
        Team.objects.filter(teammembership__agent=agent)
        .order_by("teammembership__pk")
        .first()
    )


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
    if event.ticket_id:
        add_to_search_document(ticket_id=event.ticket_id, texts=[f"Recording: {url}"])
    publish_event(event)
    return event
