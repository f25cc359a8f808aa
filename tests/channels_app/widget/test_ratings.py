"""Resolution and CSAT in the widget: the visitor hears the chat was resolved and
rates it; the rating is on the ticket and the timeline."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from channels_app.models import ChatEntry, InboundRecord
from tests.channels_app.widget.conftest import ticket_of
from tickets.actions.ratings import MAX_COMMENT_CHARS
from tickets.actions.tickets import do_change_status, do_resolve_ticket
from tickets.models import Ticket, TicketRating, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)


async def _resolved_chat(widget, agent, *, client_id="q") -> dict:
    """On an open socket: the visitor writes, the agent resolves; the resolved
    entry the widget receives."""
    await widget.send(type="message", client_id=client_id, text="Is it shipped?")
    await widget.receive_until("entry")
    ticket = await sync_to_async(ticket_of)(widget)
    await sync_to_async(do_resolve_ticket)(
        ticket=ticket, actor=agent, resolution_note="Shipped today."
    )
    return (await widget.receive_until("entry"))["entry"]


def test_a_resolved_chat_is_rated_on_the_ticket_and_the_timeline(
    widget, teams, tech_agent
):
    """Resolving puts a "resolved" entry on the visitor's stream; the visitor's
    rating of it becomes the ticket's rating, a rating event on the timeline and
    a "rating" entry on the stream."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        resolved = await _resolved_chat(widget, tech_agent)
        await widget.send(
            type="rate", seq=resolved["seq"], score=5, comment="Thanks <3"
        )
        rating = (await widget.receive_until("entry"))["entry"]
        await widget.close()
        return resolved, rating

    resolved, rating = async_to_sync(scenario)()

    assert (resolved["kind"], resolved["seq"]) == ("resolved", 2)
    assert "Shipped today" not in str(resolved)  # the note is for agents
    assert rating["kind"] == "rating"
    assert (rating["rates"], rating["score"], rating["comment"]) == (2, 5, "Thanks <3")
    ticket = ticket_of(widget)
    stored = TicketRating.objects.get(ticket=ticket)
    assert (stored.score, stored.comment, stored.channel) == (5, "Thanks <3", "chat")
    event = TimelineEvent.objects.get(kind=TimelineEvent.Kind.RATING)
    assert (event.ticket_id, event.customer_id) == (ticket.pk, ticket.customer_id)
    assert event.metadata["score"] == 5
    assert ChatEntry.objects.get(kind="rating").ticket_id == ticket.pk


def test_a_rating_of_a_chat_open_again_is_refused(widget, teams, tech_agent):
    """An agent reopened the ticket: a rating of its earlier resolution gets an
    error and nothing is recorded."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        resolved = await _resolved_chat(widget, tech_agent)
        ticket = await sync_to_async(ticket_of)(widget)
        await sync_to_async(do_change_status)(
            ticket=ticket, status="open", actor=tech_agent
        )
        await widget.send(type="rate", seq=resolved["seq"], score=1)
        error = await widget.receive_until("error")
        await widget.close()
        return error

    error = async_to_sync(scenario)()

    assert error["error"] == "invalid" and "open" in error["message"]
    assert not TicketRating.objects.exists()
    assert not ChatEntry.objects.filter(kind="rating").exists()


def test_writing_after_resolution_starts_a_new_conversation_that_can_be_rated_later(
    widget, teams, tech_agent
):
    """A visitor who writes after a resolution opens a new ticket; the resolved
    one can still be rated."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        resolved = await _resolved_chat(widget, tech_agent)
        await widget.send(type="message", client_id="again", text="One more thing")
        await widget.receive_until("entry")
        await widget.send(type="rate", seq=resolved["seq"], score=4)
        rating = (await widget.receive_until("entry"))["entry"]
        await widget.close()
        return rating

    rating = async_to_sync(scenario)()

    first, second = Ticket.objects.order_by("id")
    assert (first.status, second.status) == ("resolved", "new")
    assert rating["score"] == 4
    assert TicketRating.objects.get().ticket == first


def test_a_score_outside_one_to_five_is_refused(widget, teams, tech_agent):
    """Scores 0, 6, 2.5 or "5" get an invalid error; nothing is stored."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        resolved = await _resolved_chat(widget, tech_agent)
        errors = []
        for score in (0, 6, 2.5, "5", True):
            await widget.send(type="rate", seq=resolved["seq"], score=score)
            errors.append(await widget.receive_until("error"))
        await widget.close()
        return errors

    errors = async_to_sync(scenario)()

    assert {error["error"] for error in errors} == {"invalid"}
    assert not TicketRating.objects.exists()
    assert not InboundRecord.objects.filter(external_id__contains=":rating:").exists()


def test_a_visitor_cannot_rate_another_visitors_conversation(
    widget, new_widget, teams, tech_agent
):
    """Naming the number of another visitor's resolved entry finds nothing of
    one's own: not_found, and the other ticket stays unrated."""
    other = new_widget()
    other.start(name="Bo")
    widget.start(name="Ana")

    async def scenario():
        await other.connect()
        theirs = await _resolved_chat(other, tech_agent)
        await other.close()
        await widget.connect()
        await widget.send(type="message", client_id="mine", text="Hello")
        await widget.receive_until("entry")
        errors = []
        for seq in (theirs["seq"], 1, 10**30):
            await widget.send(type="rate", seq=seq, score=1)
            errors.append(await widget.receive_until("error"))
        await widget.close()
        return errors

    errors = async_to_sync(scenario)()

    assert [error["error"] for error in errors] == ["not_found"] * 3
    assert not TicketRating.objects.exists()


def test_a_rating_comment_over_the_limit_is_refused(widget, teams, tech_agent):
    """A comment longer than a ticket's rating may hold gets a too_long error
    the visitor can read; nothing is stored."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        resolved = await _resolved_chat(widget, tech_agent)
        await widget.send(
            type="rate",
            seq=resolved["seq"],
            score=3,
            comment="x" * (MAX_COMMENT_CHARS + 1),
        )
        error = await widget.receive_until("error")
        await widget.close()
        return error

    error = async_to_sync(scenario)()

    assert error["error"] == "too_long"
    assert str(MAX_COMMENT_CHARS) in error["message"]
    assert not TicketRating.objects.exists()
    assert not InboundRecord.objects.filter(external_id__contains=":rating:").exists()
