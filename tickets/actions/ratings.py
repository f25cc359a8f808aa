"""Customers' satisfaction ratings of resolved tickets."""

from django.db import transaction

from tickets.actions.tickets import TicketActionError, publish_ticket_update
from tickets.actions.timeline import do_append_system_event
from tickets.models import Ticket, TicketRating, TicketStatus, TimelineEvent

MAX_COMMENT_CHARS = 2000
_STARS = "★★★★★"


@transaction.atomic
def do_rate_ticket(
    *, ticket_id: int, score: int, comment: str = "", channel: str
) -> TimelineEvent:
    """Record the customer's rating on the ticket and on their timeline. Rating
    again (after a later resolution, say) replaces the ticket's rating."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise TicketActionError("a rating is a whole number from 1 to 5")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise TicketActionError(
            f"a rating comment is at most {MAX_COMMENT_CHARS} characters"
        )
    ticket = (
        Ticket.objects.select_for_update(of=("self",), no_key=True)
        .select_related("customer")
        .get(pk=ticket_id)
    )
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise TicketActionError("only a resolved ticket can be rated")
    TicketRating.objects.update_or_create(
        ticket=ticket,
        defaults={"score": score, "comment": comment, "channel": channel},
    )
    text = f"Customer rated {score}/5 {_STARS[:score]}"
    if comment:
        text += f": {comment}"
    event = do_append_system_event(
        customer=ticket.customer,
        ticket=ticket,
        kind=TimelineEvent.Kind.RATING,
        text=text,
        channel=channel,
        metadata={"score": score, "comment": comment},
    )
    publish_ticket_update(ticket, rating=score)
    return event
