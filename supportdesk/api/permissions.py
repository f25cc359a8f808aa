"""Who may call what. Object visibility is never decided here: every endpoint
reads through the same selectors as the pages, so another team's ticket is a 404.
"""

from rest_framework import permissions

from supportdesk.models import ApiToken


def _token_allows(request, scope: str) -> bool:
    token = request.auth
    if isinstance(token, ApiToken):
        return token.allows(scope)
    # A browser session acts with everything its user's role allows.
    return True


class TokenScope(permissions.BasePermission):
    """Reads need the read scope, writes the write scope; a view may ask for more
    with `required_scope` (admin for the desk's configuration)."""

    message = "This token's scopes do not allow this request."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        scope = getattr(view, "required_scope", None)
        if scope is None:
            safe = request.method in permissions.SAFE_METHODS
            scope = ApiToken.Scope.READ if safe else ApiToken.Scope.WRITE
        return _token_allows(request, scope)


class IsSupervisor(permissions.BasePermission):
    """Supervisors' and admins' endpoints (rules, teams' reassignment, inbound
    records, webhooks): agents get a 403, as on the pages."""

    message = "Only supervisors may do this."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_supervisor)


# permission_classes of the supervisors' endpoints: the defaults (settings'
# REST_FRAMEWORK, which name this module, so not read from there), then the role.
SUPERVISORS = [permissions.IsAuthenticated, TokenScope, IsSupervisor]
# Said by every endpoint that changes the desk's configuration.
ADMINS_ONLY = (
    "Needs a supervisor's or admin's account and, with a token, the admin scope."
)
