"""A supervisor hands a ticket to a team, or to one agent of a team."""

from django.db import transaction

from tickets.actions.routing import do_reassign_ticket
from tickets.actions.tickets import TicketActionError, do_assign_ticket
from tickets.models import Agent, Team, Ticket


@transaction.atomic
def do_hand_over_ticket(
    *,
    ticket: Ticket,
    team: Team,
    assignee: Agent | None = None,
    actor: Agent,
    reason: str,
) -> Ticket:
    """Move the ticket to `team` (a RouteChange with the reason) and, when an
    assignee is named, give it to them; both or neither happen.

    Handing a ticket to an agent of the team that already owns it needs no
    reason: the owner does not change, so no RouteChange is written.
    """
    if assignee is not None and not assignee.teams.filter(pk=team.pk).exists():
        raise TicketActionError(f"{assignee} is not in {team}")
    if ticket.team_id != team.pk:
        do_reassign_ticket(ticket=ticket, to_team=team, actor=actor, reason=reason)
    if assignee is not None:
        do_assign_ticket(ticket=ticket, assignee=assignee, actor=actor)
    ticket.refresh_from_db(fields=["team", "assignee", "routed_at", "routed_by_rule"])
    return ticket
