"""Customers' ratings of resolved tickets: on the ticket and on the timeline."""

import pytest
from django.test import TestCase

from supportdesk import events
from tests.helpers import deliver, message
from tickets.actions.ratings import do_rate_ticket
from tickets.actions.tickets import (
    TicketActionError,
    do_change_status,
    do_resolve_ticket,
)
from tickets.models import Ticket, TicketRating, TicketStatus, TimelineEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(teams) -> Ticket:
    record = deliver(message("chat", ("web", "visitor:ana"), text="Where is it?"))
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


@pytest.fixture
def resolved(ticket, tech_agent) -> Ticket:
    return do_resolve_ticket(
        ticket=ticket, actor=tech_agent, resolution_note="Parcel found."
    )


def rate(ticket, score, comment="", channel="chat"):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return do_rate_ticket(
            ticket_id=ticket.pk, score=score, comment=comment, channel=channel
        )


def test_a_rating_is_kept_on_the_ticket_and_the_timeline(resolved, published):
    """The score and comment are the ticket's rating and a rating event on the
    customer's timeline, and the agents' pages hear of it."""
    event = rate(resolved, 4, comment="  Quick and kind.  ")

    rating = TicketRating.objects.get(ticket=resolved)
    assert (rating.score, rating.comment, rating.channel) == (
        4,
        "Quick and kind.",
        "chat",
    )
    assert (event.kind, event.ticket_id, event.customer_id) == (
        TimelineEvent.Kind.RATING,
        resolved.pk,
        resolved.customer_id,
    )
    assert event.metadata == {"score": 4, "comment": "Quick and kind."}
    assert "4/5" in event.text and "Quick and kind." in event.text
    updates = [e for _, e in published if e["type"] == events.TICKET_UPDATED]
    assert updates and updates[-1]["rating"] == 4


def test_rating_again_replaces_the_ticket_rating_and_keeps_both_on_the_timeline(
    resolved,
):
    """A second rating is the ticket's rating; the timeline shows both."""
    rate(resolved, 2, comment="Slow")
    rate(resolved, 5, comment="Sorted in the end")

    rating = TicketRating.objects.get(ticket=resolved)
    assert (rating.score, rating.comment) == (5, "Sorted in the end")
    scores = resolved.events.filter(kind=TimelineEvent.Kind.RATING).order_by("id")
    assert [event.metadata["score"] for event in scores] == [2, 5]


def test_a_closed_ticket_can_be_rated(resolved, tech_agent):
    """Closing a resolved ticket does not take away the customer's rating."""
    do_change_status(ticket=resolved, status=TicketStatus.CLOSED, actor=tech_agent)

    rate(resolved, 3)

    assert TicketRating.objects.get(ticket=resolved).score == 3


def test_an_open_ticket_cannot_be_rated(ticket):
    """Only a resolved or closed ticket takes a rating; nothing is recorded."""
    with pytest.raises(TicketActionError, match="resolved"):
        rate(ticket, 5)

    assert not TicketRating.objects.exists()
    assert not ticket.events.filter(kind=TimelineEvent.Kind.RATING).exists()


def test_a_score_outside_one_to_five_is_refused(resolved):
    """A score is a whole number from 1 to 5."""
    for score in (0, 6, -1, True, "5", 4.5, None):
        with pytest.raises(TicketActionError):
            rate(resolved, score)

    assert not TicketRating.objects.exists()
    assert not resolved.events.filter(kind=TimelineEvent.Kind.RATING).exists()


def test_a_comment_over_the_limit_is_refused(resolved):
    """Comments are bounded like everything a customer sends."""
    with pytest.raises(TicketActionError):
        rate(resolved, 5, comment="x" * 2001)

    assert not TicketRating.objects.exists()
