"""Supervisors' pages: routing rules, team load and reassignment, the route audit,
customers' merges and merge suggestions.

Only supervisors and admins may open them: anyone else signed in gets 403 (the
pages' existence is no secret, unlike a ticket of another team, which is a 404).
"""

from django.http import HttpRequest


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
