"""REST endpoints for outbound webhook endpoints and their delivery log."""

# (url prefix, viewset, basename) for supportdesk/api/urls.py's router.
routes: list = []
