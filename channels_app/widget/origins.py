"""Which pages may talk to a chat inbox: the desk's own iframe, and the sites the
inbox names. Origins compare whole: scheme, host and port."""

from urllib.parse import urlsplit

from django.conf import settings

from channels_app.models import Inbox


def normalise_origin(value: str) -> str:
    """ "https://Shop.example:443/" → "https://shop.example"; "" when not an origin."""
    try:
        parts = urlsplit(str(value).strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme]
    netloc = parts.hostname.lower()
    if port and port != default:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}"


def allowed_origins(inbox: Inbox) -> list[str]:
    origins = inbox.config.get("allowed_origins") or []
    if isinstance(origins, str):
        origins = origins.split()
    return [origin for origin in map(normalise_origin, origins) if origin]


def desk_origins(host_header: str, secure: bool) -> set[str]:
    """The desk as the browser sees it: the host the request was made to, and the
    public address it is known by."""
    origins = {normalise_origin(settings.PUBLIC_BASE_URL)}
    if host_header:
        origins.add(
            normalise_origin(f"{'https' if secure else 'http'}://{host_header}")
        )
    return origins - {""}


def origin_allowed(
    inbox: Inbox, origin: str, *, host_header: str, secure: bool
) -> bool:
    origin = normalise_origin(origin)
    if not origin:
        return False
    return origin in desk_origins(host_header, secure) or origin in allowed_origins(
        inbox
    )
