"""Reads for supervisors: team load, team queues and the log of route changes.

Each read costs a fixed number of queries however many tickets or agents there are.
"""

import base64
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet

from supportdesk.permissions import sees_every_team
from tickets.models import (
    OPEN_STATUSES,
    RouteChange,
    Team,
    TeamMembership,
    Ticket,
    TicketStatus,
)
from tickets.selectors import tickets_visible_to

# Re-exported: the audit's callers catch it from here.
from tickets.timeline import InvalidCursorError as InvalidCursorError
from tickets.timeline import decode_cursor

# Waiting on the desk; a pending ticket waits on the customer.
WAITING_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN)


@dataclass
class TeamLoad:
    team: Team
    open_count: int
    unassigned_count: int
    oldest_waiting_at: datetime | None
    # (agent, open tickets assigned to them), busiest last.
    agents: list = field(default_factory=list)


def team_loads() -> list[TeamLoad]:
    """Every team with its open, unassigned and oldest waiting ticket, and its
    agents with their load: two queries in all."""
    open_tickets = Q(tickets__status__in=OPEN_STATUSES)
    teams = Team.objects.annotate(
        open_count=Count("tickets", filter=open_tickets),
        unassigned_count=Count(
            "tickets", filter=open_tickets & Q(tickets__assignee__isnull=True)
        ),
        oldest_waiting_at=Min(
            "tickets__created_at", filter=Q(tickets__status__in=WAITING_STATUSES)
        ),
    ).order_by("name")
    loads = {
        team.pk: TeamLoad(
            team=team,
            open_count=team.open_count,
            unassigned_count=team.unassigned_count,
            oldest_waiting_at=team.oldest_waiting_at,
        )
        for team in teams
    }
    members = (
        TeamMembership.objects.filter(agent__is_active=True)
        .select_related("agent")
        .annotate(
            load=Count(
                "agent__tickets", filter=Q(agent__tickets__status__in=OPEN_STATUSES)
            )
        )
        .order_by("agent__username")
    )
    by_team = defaultdict(list)
    for member in members:
        by_team[member.team_id].append((member.agent, member.load))
    for team_id, agents in by_team.items():
        if team_id in loads:
            loads[team_id].agents = sorted(agents, key=lambda pair: pair[1])
    return list(loads.values())


def team_queue(
    *, team: Team, limit: int, before_id: int | None = None
) -> tuple[list[Ticket], int | None]:
    """A page of a team's open tickets, newest first, and the id to continue from."""
    tickets = (
        Ticket.objects.filter(team=team, status__in=OPEN_STATUSES)
        .select_related("customer", "assignee")
        .order_by("-id")
    )
    if before_id is not None:
        tickets = tickets.filter(pk__lt=before_id)
    rows = list(tickets[: limit + 1])
    next_before = rows[limit - 1].pk if len(rows) > limit else None
    return rows[:limit], next_before


@dataclass(frozen=True)
class RouteChangeFilter:
    team_id: int | None = None
    actor_id: int | None = None
    ticket_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def _encode(change: RouteChange) -> str:
    # The timeline's cursor format, so its decode_cursor reads it back.
    raw = f"{change.created_at.isoformat()}|{change.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def route_changes(
    *,
    filters: RouteChangeFilter,
    limit: int,
    cursor: str | None = None,
    viewer=None,
) -> tuple[list[RouteChange], str | None]:
    """A page of route changes, newest first, keyset-paginated by (time, id).

    With a viewer, only the changes of tickets that user may see.
    """
    changes: QuerySet[RouteChange] = RouteChange.objects.select_related(
        "ticket", "from_team", "to_team", "rule", "actor"
    )
    if viewer is not None and not sees_every_team(viewer):
        changes = changes.filter(ticket_id__in=tickets_visible_to(viewer).values("pk"))
    if filters.team_id is not None:
        changes = changes.filter(
            Q(from_team_id=filters.team_id) | Q(to_team_id=filters.team_id)
        )
    if filters.actor_id is not None:
        changes = changes.filter(actor_id=filters.actor_id)
    if filters.ticket_id is not None:
        changes = changes.filter(ticket_id=filters.ticket_id)
    if filters.since is not None:
        changes = changes.filter(created_at__gte=filters.since)
    if filters.until is not None:
        changes = changes.filter(created_at__lt=filters.until)
    if cursor:
        created_at, pk = decode_cursor(cursor)
        changes = changes.filter(created_at__lte=created_at).filter(
            Q(created_at__lt=created_at) | Q(pk__lt=pk)
        )
    rows = list(changes.order_by("-created_at", "-id")[: limit + 1])
    next_cursor = _encode(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor
