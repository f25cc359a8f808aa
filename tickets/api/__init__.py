"""REST endpoints for tickets, routing rules, teams, agents and route changes."""

# (url prefix, viewset, basename) for supportdesk/api/urls.py's router.
routes: list = []
