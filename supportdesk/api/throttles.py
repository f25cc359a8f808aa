from rest_framework.throttling import SimpleRateThrottle

from supportdesk.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per token (per user for browser sessions); API_RATE_LIMIT sets it."""

    scope = "token"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"anon-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
