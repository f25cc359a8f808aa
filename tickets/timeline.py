"""Reads of customers as agents see them: who is visible, the one timeline, tickets.

Visibility follows tickets (an agent sees the customers of tickets they may see),
so these reads live in tickets, above customers.
"""

import base64
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Case, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When

from customers.models import Customer
from supportdesk.permissions import sees_every_team
from tickets.models import OPEN_STATUSES, Attachment, Ticket, TimelineEvent
from tickets.selectors import timeline_events_visible_to


class InvalidCursorError(ValueError):
    pass


def customers_visible_to(agent) -> QuerySet[Customer]:
    """Customers with a ticket the agent may see (everyone for supervisors)."""
    customers = Customer.objects.filter(merged_into__isnull=True)
    if not agent.is_authenticated or not agent.is_active:
        return customers.none()
    if sees_every_team(agent):
        return customers
    own_tickets = Ticket.objects.filter(customer=OuterRef("pk")).filter(
        Q(team__agents=agent) | Q(assignee=agent)
    )
    return customers.filter(Exists(own_tickets))


def customer_for_agent(agent, customer_id: int) -> Customer:
    return customers_visible_to(agent).get(pk=customer_id)


@dataclass(frozen=True)
class TimelinePage:
    customer: Customer
    events: list[TimelineEvent]
    next_cursor: str | None


def encode_cursor(event: TimelineEvent) -> str:
    raw = f"{event.occurred_at.isoformat()}|{event.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, pk = base64.urlsafe_b64decode(padded).decode().split("|")
        return datetime.fromisoformat(stamp), int(pk)
    except ValueError as exc:
        raise InvalidCursorError("the cursor is not one this desk gave out") from exc


def customer_timeline(
    *, viewer, customer_id: int, cursor: str | None = None, limit: int | None = None
) -> TimelinePage:
    """One page of a customer's timeline, newest first, across every channel, as
    the viewer may read it (another team's internal notes left out).

    Keyset pagination: any page costs the same three queries however deep it is.
    """
    customer = customer_for_agent(viewer, customer_id)
    limit = min(limit or settings.TIMELINE_PAGE_SIZE, 200)
    events = timeline_events_visible_to(
        viewer, TimelineEvent.objects.filter(customer_id=customer.pk)
    )
    if cursor:
        occurred_at, pk = decode_cursor(cursor)
        # The bare OR cannot bound an index range, so PostgreSQL would read every
        # older event and sort them; `<=` bounds the scan of timeline_keyset and the
        # OR only settles ties on the cursor's timestamp.
        events = events.filter(occurred_at__lte=occurred_at).filter(
            Q(occurred_at__lt=occurred_at) | Q(pk__lt=pk)
        )
    rows = list(
        events.select_related("ticket", "ticket__team", "author", "sender_identity")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.defer("data"))
        )
        .order_by("-occurred_at", "-id")[: limit + 1]
    )
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return TimelinePage(customer=customer, events=rows[:limit], next_cursor=next_cursor)


def customer_tickets(*, customer: Customer, limit: int) -> tuple[list[Ticket], bool]:
    """The customer's open tickets, then the most recent others: at most `limit`.

    The second value tells whether older tickets were left out. A customer with
    thousands of tickets costs one bounded query, like one with two.
    """
    rows = list(
        customer.tickets.select_related("team", "assignee")
        .annotate(
            open_rank=Case(
                When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1)
            )
        )
        .order_by("open_rank", "-id")[: limit + 1]
    )
    return rows[:limit], len(rows) > limit
