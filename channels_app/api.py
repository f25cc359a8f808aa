"""REST endpoints for inbound records: failed payloads listed and replayed."""

# (url prefix, viewset, basename) for supportdesk/api/urls.py's router.
routes: list = []
