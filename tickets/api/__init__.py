"""REST endpoints for tickets, routing rules, teams, agents and route changes."""

from tickets.api import route_changes, rules, teams
from tickets.api.tickets import TicketViewSet

# (url prefix, viewset, basename) for supportdesk/api/urls.py's router.
routes: list = [
    ("tickets", TicketViewSet, "ticket"),
    ("rules", rules.RuleViewSet, "rule"),
    ("teams", teams.TeamViewSet, "team"),
    ("agents", teams.AgentViewSet, "agent"),
    ("route-changes", route_changes.RouteChangeViewSet, "route-change"),
]
