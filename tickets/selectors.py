"""Reads of tickets, with the permission check every door shares."""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Substr

from customers.models import Customer
from supportdesk import events
from supportdesk.permissions import sees_every_team
from tickets.models import (
    OPEN_STATUSES,
    Agent,
    Team,
    TeamMembership,
    Ticket,
    TimelineEvent,
)
from tickets.search import SEARCH_CONFIG

# Who asks: a signed-in agent, or the anonymous user of a request that is not.
Viewer = Agent | AnonymousUser


def _own_tickets(agent: Agent, prefix: str = "") -> Q:
    """The tickets of the agent's teams and those assigned to them, as a condition
    on the ticket found through `prefix` ("" for tickets themselves)."""
    # A subquery, not a join: no duplicate rows, so no DISTINCT over the result.
    own_teams = TeamMembership.objects.filter(agent=agent).values("team_id")
    return Q(**{f"{prefix}team_id__in": own_teams}) | Q(
        **{f"{prefix}assignee_id": agent.pk}
    )


def tickets_visible_to(agent: Viewer) -> QuerySet[Ticket]:
    """The tickets an agent may see: their teams' and those assigned to them."""
    tickets = Ticket.objects.all()
    if not agent.is_authenticated or not agent.is_active:
        return tickets.none()
    if sees_every_team(agent):
        return tickets
    return tickets.filter(_own_tickets(agent))


def timeline_events_visible_to(
    agent: Viewer, events: QuerySet[TimelineEvent]
) -> QuerySet[TimelineEvent]:
    """Of these events, those the agent may read, for every door that shows them.

    Messages, calls and the desk's own entries are the customer's one timeline:
    whoever may see the customer reads them, whichever ticket they are on. An
    internal note is read only by those who may see the ticket it was written on
    (supervisors and admins see all). The caller checks that the customer is
    visible; this only leaves out what the agent may not read of it.
    """
    if not agent.is_authenticated or not agent.is_active:
        return events.none()
    if sees_every_team(agent):
        return events
    # Through the event's ticket, which the timeline reads joined anyway: the
    # condition costs no subquery per row, and a note without a ticket is hidden.
    return events.filter(
        ~Q(kind=TimelineEvent.Kind.NOTE) | _own_tickets(agent, prefix="ticket__")
    )


def timeline_event_visible_to(agent: Viewer, event_id: int) -> bool:
    """Whether the agent may read one event; see timeline_events_visible_to."""
    events = TimelineEvent.objects.filter(pk=event_id)
    return timeline_events_visible_to(agent, events).exists()


def ticket_for_agent(agent: Viewer, ticket_id: int) -> Ticket:
    """One ticket, or Ticket.DoesNotExist when it is not the agent's to see."""
    return (
        tickets_visible_to(agent)
        .select_related("customer", "team", "assignee")
        .get(pk=ticket_id)
    )


def realtime_groups_for(agent: Viewer) -> list[str]:
    """The channel-layer groups whose events the agent may hear.

    Everything published about a ticket reaches the desk group and its team's:
    whoever sees every team hears the desk group alone (a team group as well would
    bring each event twice); an agent hears their own teams.
    """
    if not agent.is_authenticated or not agent.is_active:
        return []
    if sees_every_team(agent):
        return [events.DESK_GROUP]
    team_ids = Team.objects.filter(agents=agent).values_list("pk", flat=True)
    return [events.team_group(team_id) for team_id in team_ids]


# ------------------------------------------------------------------------ queue
QUEUE_PAGE_SIZE = 50
SNIPPET_CHARS = 160
MESSAGE_KINDS = (TimelineEvent.Kind.MESSAGE_IN, TimelineEvent.Kind.MESSAGE_OUT)
# A search first tries the newest tickets of the queue one by one: a common word
# is found among them without reading every message that contains it.
SEARCH_NEWEST = 500


class InvalidQueueCursorError(ValueError):
    pass


@dataclass(frozen=True)
class QueueFilters:
    """What the queue shows. status "" means every open status; "all" means any."""

    status: str = ""
    channel: str = ""
    priority: str = ""
    team: int | None = None
    # "" anyone, "me", "none" (unassigned), or an agent's id.
    assignee: str = ""
    search: str = ""


@dataclass(frozen=True)
class TicketPage:
    tickets: list[Ticket]
    next_cursor: str | None


def ticket_list_for_agent(
    *,
    agent: Viewer,
    filters: QueueFilters | None = None,
    cursor: str | None = None,
    limit: int = QUEUE_PAGE_SIZE,
) -> TicketPage:
    """One page of the agent's queue, newest ticket first.

    Keyset pagination on the id: every page costs one query however deep it is
    (a search two, and three when the newest tickets cannot fill the page), and
    each row carries its owner, customer and last message snippet.
    """
    filters = filters or QueueFilters()
    text = filters.search.strip()
    tickets = _filtered(tickets_visible_to(agent), agent, replace(filters, search=""))
    if cursor:
        try:
            tickets = tickets.filter(pk__lt=int(cursor))
        except ValueError as exc:
            raise InvalidQueueCursorError("not a cursor of this queue") from exc
    limit = max(1, min(limit, 200))
    rows = _newest_matching(tickets, text, limit + 1) if text else None
    if rows is None:
        if text:
            tickets = tickets.filter(pk__in=_matching_ids(tickets, text, limit + 1))
        rows = list(_with_row_data(tickets).order_by("-id")[: limit + 1])
    next_cursor = str(rows[limit - 1].pk) if len(rows) > limit else None
    return TicketPage(tickets=rows[:limit], next_cursor=next_cursor)


def queue_row_for_agent(
    *, agent: Viewer, ticket_id: int, filters: QueueFilters | None = None
) -> Ticket | None:
    """One row of the agent's queue, or None when the ticket is not (or no longer)
    in the queue those filters show."""
    tickets = _filtered(tickets_visible_to(agent), agent, filters or QueueFilters())
    return _with_row_data(tickets.filter(pk=ticket_id)).first()


def _with_row_data(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    last_message = (
        TimelineEvent.objects.filter(ticket_id=OuterRef("pk"), kind__in=MESSAGE_KINDS)
        .order_by("-occurred_at", "-id")
        .values("text")[:1]
    )
    return tickets.select_related("customer", "team", "assignee").annotate(
        snippet=Substr(Subquery(last_message), 1, SNIPPET_CHARS)
    )


def _filtered(
    tickets: QuerySet[Ticket], agent: Viewer, filters: QueueFilters
) -> QuerySet[Ticket]:
    if filters.status == "":
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    elif filters.status != "all":
        tickets = tickets.filter(status=filters.status)
    if filters.channel:
        tickets = tickets.filter(channel=filters.channel)
    if filters.priority:
        tickets = tickets.filter(priority=filters.priority)
    if filters.team:
        tickets = tickets.filter(team_id=filters.team)
    if filters.assignee == "me":
        # By id: an anonymous viewer has none, and sees no ticket anyway.
        tickets = tickets.filter(assignee_id=agent.pk)
    elif filters.assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        tickets = tickets.filter(assignee_id=int(filters.assignee))
    if filters.search.strip():
        tickets = tickets.filter(_search(filters.search.strip()))
    return tickets


def _newest_matching(
    tickets: QuerySet[Ticket], text: str, wanted: int
) -> list[Ticket] | None:
    """The newest `wanted` matches among the queue's newest SEARCH_NEWEST tickets,
    each checked on its own; None when they hold fewer and the queue holds more
    (the full search then runs, through the indexes)."""
    # Read first, as a list: given the subquery instead, the planner may check
    # every ticket of the table newest first, to find nothing for a rare word.
    newest_ids = list(
        tickets.order_by("-id").values_list("pk", flat=True)[:SEARCH_NEWEST]
    )
    newest = Ticket.objects.filter(pk__in=newest_ids).filter(_search(text))
    rows = list(_with_row_data(newest).order_by("-id")[:wanted])
    if len(rows) == wanted or len(newest_ids) < SEARCH_NEWEST:
        return rows
    return None


def _matching_ids(
    tickets: QuerySet[Ticket], text: str, wanted: int
) -> QuerySet[Ticket, Any]:
    """The ids of the newest `wanted` matches among these tickets, found through
    the indexes: the cost follows the tickets that hold the words, not how many
    newer tickets of the queue lack them."""
    if connection.vendor != "postgresql":
        return tickets.filter(_search(text)).values("pk")
    query = _search_query(text)
    # Ordered by an expression rather than the id: on the id the planner would
    # walk its index from the newest ticket down, reading every newer ticket
    # that lacks the words, instead of the few the search index names.
    newest_first = (F("id") + 0).desc()
    by_document = tickets.filter(search_vector=query)
    by_name = tickets.filter(customer_id__in=_customers_named(query))
    return (
        by_document.order_by(newest_first)
        .values("pk")[:wanted]
        .union(by_name.order_by(newest_first).values("pk")[:wanted])
    )


def _search_query(text: str) -> SearchQuery:
    return SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")


def _customers_named(query: SearchQuery) -> QuerySet[Customer, Any]:
    # The expression of customers' GIN index of tickets migration 0003, exactly.
    name = SearchVector("display_name", config=SEARCH_CONFIG)
    return Customer.objects.alias(document=name).filter(document=query).values("pk")


def _search(text: str) -> Q:
    """Tickets whose subject or events (tickets.search keeps their words on the
    ticket), or whose customer's name, match the words; checked row by row."""
    if connection.vendor != "postgresql":
        # Embedded mode has no stored documents: each text is read.
        messages = TimelineEvent.objects.filter(
            ticket_id=OuterRef("pk"), text__icontains=text
        )
        return (
            Q(subject__icontains=text)
            | Q(customer__display_name__icontains=text)
            | Q(Exists(messages))
        )
    query = _search_query(text)
    return Q(search_vector=query) | Q(customer_id__in=_customers_named(query))


def agents_visible_to(user: Agent) -> QuerySet[Agent]:
    """Everyone for whoever sees every team; otherwise oneself and the active
    members of one's teams, the agents one may hand a ticket to."""
    agents = Agent.objects.all()
    if sees_every_team(user):
        return agents
    own_teams = TeamMembership.objects.filter(agent=user).values("team_id")
    teammate = TeamMembership.objects.filter(
        agent=OuterRef("pk"), team_id__in=own_teams
    )
    return agents.filter(Q(pk=user.pk) | Q(Exists(teammate), is_active=True))


# ------------------------------------------- stored events, as channels read them

# A watermark covers at most this many replies: older ones were receipted before.
WATERMARK_REPLIES = 200


def event_for_external_id(*, channel: str, external_id: str) -> TimelineEvent | None:
    """The event a provider's message id names on a channel, if it is stored."""
    if not external_id:
        return None
    events = TimelineEvent.objects.filter(channel=channel, external_id=external_id)
    return events.first()


def stored_external_ids(*, channel: str, external_ids: Iterable[str]) -> set[str]:
    """Those of the provider's message ids already on the timeline of a channel."""
    wanted = {external_id for external_id in external_ids if external_id}
    if not wanted:
        return set()
    stored = TimelineEvent.objects.filter(channel=channel, external_id__in=wanted)
    return set(stored.values_list("external_id", flat=True))


def last_inbound_at(*, customer_id: int, channel: str) -> datetime | None:
    """When the customer last wrote on a channel, on any ticket."""
    return (
        TimelineEvent.objects.filter(
            customer_id=customer_id,
            channel=channel,
            kind=TimelineEvent.Kind.MESSAGE_IN,
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def last_inbound_by_channel(*, customer_id: int) -> dict[str, datetime]:
    """When the customer last wrote on each channel they used."""
    return dict(
        TimelineEvent.objects.filter(
            customer_id=customer_id, kind=TimelineEvent.Kind.MESSAGE_IN
        )
        .values_list("channel")
        .annotate(last=Max("occurred_at"))
        .order_by()
    )


def sent_reply_ids_up_to(
    *, channel: str, identity_kind: str, identity_value: str, until: datetime
) -> list[str]:
    """Provider ids of the replies sent to one identity's customer on a channel up
    to a moment, oldest first: what a read or delivery watermark covers."""
    return list(
        TimelineEvent.objects.filter(
            channel=channel,
            kind=TimelineEvent.Kind.MESSAGE_OUT,
            customer__identities__kind=identity_kind,
            customer__identities__value=identity_value,
            occurred_at__lte=until,
            delivery_status__in=[
                TimelineEvent.Delivery.SENT,
                TimelineEvent.Delivery.DELIVERED,
            ],
        )
        .exclude(external_id="")
        .order_by("occurred_at")
        .values_list("external_id", flat=True)[:WATERMARK_REPLIES]
    )


def outgoing_event(event_id: int) -> TimelineEvent:
    """The stored message an adapter is sending."""
    return TimelineEvent.objects.get(pk=event_id)
