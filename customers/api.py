"""REST endpoints for customers, their timelines and merge suggestions."""

# (url prefix, viewset, basename) for supportdesk/api/urls.py's router.
routes: list = []
