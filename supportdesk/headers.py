"""Security headers of the desk's pages.

django-csp writes the Content-Security-Policy from settings.CONTENT_SECURITY_POLICY
on every response that has none of its own: a view with a policy of its own (the
chat widget's frame, a served file) keeps it. The Permissions-Policy from
settings.PERMISSIONS_POLICY goes on the same way.
"""

from csp.middleware import CSPMiddleware
from django.conf import settings

PERMISSIONS_HEADER = "Permissions-Policy"


def permissions_policy(features: dict[str, list[str]]) -> str:
    """{"camera": [], "fullscreen": ["self"]} → 'camera=(), fullscreen=(self)'."""
    return ", ".join(
        f"{feature}=({' '.join(allowed)})" for feature, allowed in features.items()
    )


class SecurityHeadersMiddleware(CSPMiddleware):
    def process_response(self, request, response):
        response = super().process_response(request, response)
        features = getattr(settings, "PERMISSIONS_POLICY", None)
        if features and PERMISSIONS_HEADER not in response:
            response[PERMISSIONS_HEADER] = permissions_policy(features)
        return response
