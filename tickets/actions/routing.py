"""Every change of a ticket's owning team, each with its RouteChange."""

import logging

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from supportdesk import events
from supportdesk.errors import ActionError
from supportdesk.oncommit import publish_on_commit
from tickets.actions.timeline import do_append_system_event
from tickets.models import (
    OPEN_STATUSES,
    Agent,
    RouteChange,
    RoutingRule,
    Team,
    Ticket,
    TimelineEvent,
)
from tickets.routing import decide, facts_for

logger = logging.getLogger(__name__)


class RoutingError(ActionError):
    pass


def _first_text() -> Subquery:
    """The text of a ticket's first inbound message, read with the ticket."""
    first = TimelineEvent.objects.filter(
        ticket=OuterRef("pk"), kind=TimelineEvent.Kind.MESSAGE_IN
    ).order_by("occurred_at", "id")
    return Subquery(first.values("text")[:1])


def _move(
    *,
    ticket: Ticket,
    to_team: Team,
    rule: RoutingRule | None = None,
    actor: Agent | None = None,
    reason: str,
) -> RouteChange:
    """Change a locked ticket's owner and record it, in the caller's transaction."""
    from_team = ticket.team
    ticket.team = to_team
    ticket.routed_at = ticket.routed_at or timezone.now()
    ticket.routed_by_rule = rule
    fields = ["team", "routed_at", "routed_by_rule", "updated_at"]
    if ticket.assignee_id and not to_team.agents.filter(pk=ticket.assignee_id).exists():
        # An assignee outside the new team would own work they cannot see.
        ticket.assignee = None
        fields.append("assignee")
    ticket.save(update_fields=fields)
    change = RouteChange.objects.create(
        ticket=ticket,
        from_team=from_team,
        to_team=to_team,
        rule=rule,
        actor=actor,
        reason=reason,
    )
    verb = (
        f"Moved from {from_team} to {to_team}" if from_team else f"Routed to {to_team}"
    )
    # Published below, in the one event that announces the move.
    event = do_append_system_event(
        customer=ticket.customer,
        ticket=ticket,
        kind="route_change",
        author=actor,
        text=f"{verb}. {reason}",
        publish=False,
        metadata={
            "route_change_id": change.pk,
            "from_team_id": from_team and from_team.pk,
            "to_team_id": to_team.pk,
            "rule_id": rule and rule.pk,
        },
    )
    groups = events.ticket_groups(ticket)
    if from_team:
        groups.append(events.team_group(from_team.pk))
    publish_on_commit(
        {
            "type": events.TICKET_REASSIGNED if from_team else events.TICKET_ROUTED,
            "ticket_id": ticket.pk,
            "from_team_id": from_team.pk if from_team else None,
            "to_team_id": to_team.pk,
            "route_change_id": change.pk,
            # The route_change entry of the timeline, shown without another query.
            "event_id": event.pk,
            "text": event.text[:280],
            "occurred_at": event.occurred_at.isoformat(),
        },
        groups,
    )
    return change


@transaction.atomic
def do_route_ticket(*, ticket_id: int) -> RouteChange | None:
    """Give an unrouted ticket its owning team by the rules. Idempotent."""
    # An unrouted ticket has no team (a constraint): only its customer is joined.
    ticket = (
        Ticket.objects.select_for_update(of=("self",), no_key=True)
        .select_related("customer")
        .annotate(first_text=_first_text())
        .get(pk=ticket_id)
    )
    if ticket.routed_at is not None:
        return None
    decision = decide(facts_for(ticket, ticket.first_text or ""))
    if decision is None:
        logger.warning("ticket %s stays unrouted: the desk has no team", ticket.pk)
        return None
    return _move(
        ticket=ticket, to_team=decision.team, rule=decision.rule, reason=decision.reason
    )


def do_give_new_ticket(
    *, ticket: Ticket, team: Team, actor: Agent, reason: str
) -> RouteChange:
    """Give a ticket opened in the caller's transaction its first team without the
    rules (a call an agent logged for a caller their team could not see: their
    team takes it), recorded like any routing. The ticket is nobody else's yet, so
    it needs no lock; the routing task finds it routed and leaves it."""
    if ticket.routed_at is not None or ticket.team_id is not None:
        raise RoutingError("the ticket already has a team")
    return _move(ticket=ticket, to_team=team, actor=actor, reason=reason)


@transaction.atomic
def do_reassign_ticket(
    *, ticket: Ticket, to_team: Team, actor: Agent | None, reason: str
) -> RouteChange | None:
    """A supervisor moves a ticket to another team; the reason is required."""
    if not reason or not reason.strip():
        raise RoutingError("a reassignment needs a reason")
    ticket = (
        Ticket.objects.select_for_update(of=("self",), no_key=True)
        .select_related("customer", "team")
        .get(pk=ticket.pk)
    )
    if ticket.team_id == to_team.pk:
        return None
    return _move(ticket=ticket, to_team=to_team, actor=actor, reason=reason.strip())


@transaction.atomic
def do_change_rule_team(
    *,
    rule: RoutingRule,
    team: Team,
    actor: Agent | None,
    reroute_open: bool = False,
    reason: str = "",
) -> list[RouteChange]:
    """Point a rule at another team; optionally move the open tickets it placed."""
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    old_team = rule.team
    rule.team = team
    rule.save(update_fields=["team"])
    if not reroute_open:
        return []
    why = reason.strip() or f"Rule “{rule.name}” now routes to {team}"
    changes = []
    tickets = (
        Ticket.objects.select_for_update(of=("self",), no_key=True)
        .select_related("customer", "team")
        .filter(routed_by_rule=rule, status__in=OPEN_STATUSES)
        .exclude(team=team)
        .order_by("pk")
    )
    for ticket in tickets:
        changes.append(
            _move(ticket=ticket, to_team=team, rule=rule, actor=actor, reason=why)
        )
    logger.info(
        "rule %s: %s → %s, %d open tickets moved", rule.pk, old_team, team, len(changes)
    )
    return changes
