"""Role checks every app's doors share: who is a supervisor, who sees every team.

Which tickets and customers an agent may see is decided by the selectors of the
app that owns them; these only read the agent's role.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def sees_every_team(agent) -> bool:
    return agent.is_supervisor or agent.is_superuser or settings.AGENTS_SEE_ALL_TEAMS


def supervisor_required(view):
    """Signed in (else the sign-in page), and a supervisor or admin (else 403).

    The supervisors' pages are no secret, unlike a ticket of another team (a 404).
    """

    @wraps(view)
    def check(request, *args, **kwargs):
        if not request.user.is_supervisor:
            raise PermissionDenied("supervisors only")
        return view(request, *args, **kwargs)

    return login_required(check)
