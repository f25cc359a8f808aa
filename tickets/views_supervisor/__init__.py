"""Supervisors' pages: routing rules, team load and reassignment, the route audit.

Only supervisors and admins may open them: anyone else signed in gets 403 (the
pages' existence is no secret, unlike a ticket of another team, which is a 404).
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def supervisor_required(view):
    """Signed in (else the sign-in page), and a supervisor or admin (else 403)."""

    @wraps(view)
    def check(request, *args, **kwargs):
        if not request.user.is_supervisor:
            raise PermissionDenied("supervisors only")
        return view(request, *args, **kwargs)

    return login_required(check)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"
