"""Reads of tickets, with the permission check every door shares."""

from django.conf import settings
from django.db.models import Q, QuerySet

from tickets.models import Ticket


def sees_every_team(agent) -> bool:
    return agent.is_supervisor or agent.is_superuser or settings.AGENTS_SEE_ALL_TEAMS


def tickets_visible_to(agent) -> QuerySet[Ticket]:
    """The tickets an agent may see: their teams' and those assigned to them."""
    tickets = Ticket.objects.all()
    if not agent.is_authenticated or not agent.is_active:
        return tickets.none()
    if sees_every_team(agent):
        return tickets
    return tickets.filter(Q(team__agents=agent) | Q(assignee=agent)).distinct()


def ticket_for_agent(agent, ticket_id: int) -> Ticket:
    """One ticket, or Ticket.DoesNotExist when it is not the agent's to see."""
    return (
        tickets_visible_to(agent)
        .select_related("customer", "team", "assignee")
        .get(pk=ticket_id)
    )
