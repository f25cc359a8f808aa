import logging

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from supportdesk.models import ApiToken
from supportdesk.ratelimit import CACHE_ERRORS

logger = logging.getLogger(__name__)


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per token (per user for browser sessions); API_RATE_LIMIT sets it."""

    scope = "token"

    @property
    def THROTTLE_RATES(self):
        # DRF binds the rates when the module is imported; read them per request
        # so that a changed setting (a test's override) takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            # The counters are out of reach: the request passes rather than fail.
            logger.warning("API rate not counted, the cache is out of reach: %s", exc)
            return True

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"anon-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
