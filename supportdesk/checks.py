"""Deploy checks (`manage.py check --deploy`) of the desk's own settings.

Django's own deploy checks cover DEBUG, ALLOWED_HOSTS and each transport setting
by its name; these add what Django cannot know: which keys are published with the
desk, that each transport setting is an environment variable here, and where the
desk tells customers and providers to reach it.
"""

from django.conf import settings
from django.core.checks import Tags, Warning, register

from supportdesk.secret_key import HOW_TO_MAKE_ONE, secret_key_weakness

GUIDE = 'docs/operations.md, "Going to production"'


@register(Tags.security, deploy=True)
def check_secret_key(app_configs, **kwargs) -> list[Warning]:
    weakness = secret_key_weakness(settings.SECRET_KEY)
    if not weakness:
        return []
    return [
        Warning(
            f"{weakness}: anyone can sign sessions, password links and reply "
            "addresses with it.",
            hint=HOW_TO_MAKE_ONE,
            id="supportdesk.W001",
        )
    ]


def _missing_transport_settings() -> list[str]:
    missing = [
        name
        for name in (
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
        )
        if not getattr(settings, name)
    ]
    # The desk runs behind a proxy that ends TLS (docs/operations.md): without
    # the proxy's header every request looks like plain HTTP, and the redirect
    # to HTTPS would answer each one with itself.
    if settings.SECURE_SSL_REDIRECT and not settings.SECURE_PROXY_SSL_HEADER:
        missing.append("SECURE_PROXY_SSL_HEADER")
    return missing


@register(Tags.security, deploy=True)
def check_transport(app_configs, **kwargs) -> list[Warning]:
    found = []
    missing = _missing_transport_settings()
    if missing:
        found.append(
            Warning(
                f"Transport settings not set: {', '.join(missing)}.",
                hint=f"Set them in the environment ({GUIDE}).",
                id="supportdesk.W002",
            )
        )
    if not settings.PUBLIC_BASE_URL.startswith("https://"):
        found.append(
            Warning(
                f"PUBLIC_BASE_URL ({settings.PUBLIC_BASE_URL}) is not an https:// "
                "address: links in mail and providers' webhooks would travel in "
                "plain HTTP.",
                hint=f"Set PUBLIC_BASE_URL to the desk's https:// address ({GUIDE}).",
                id="supportdesk.W003",
            )
        )
    return found
