"""A small client for Meta's Graph API: sending messages and fetching media.

The base URL, version and limits come from settings (tests point them at a local
stand-in). Tokens travel in the Authorization header, never in a URL.
"""

import mimetypes
from urllib.parse import unquote, urlsplit

import requests
from django.conf import settings

from channels_app.adapters import provider_http
from channels_app.adapters.provider_http import (
    Media,
    MediaRefusedError,
    ProviderError,
    base_type,
    check_size,
    check_type,
    media_type_allowed,
)

__all__ = [
    "GraphClient",
    "GraphError",
    "Media",
    "MediaRefusedError",
    "download",
    "graph_url",
    "media_file_name",
    "media_type_allowed",
    "media_url_allowed",
]

# Graph answered with an error, or could not be reached; `permanent` as for any
# provider. One class, so a caller's `except` cannot miss a download's error.
GraphError = ProviderError


def graph_url(path: str) -> str:
    base = settings.GRAPH_API_BASE_URL.rstrip("/")
    return f"{base}/{settings.GRAPH_API_VERSION.strip('/')}/{path.lstrip('/')}"


def media_url_allowed(url: str) -> bool:
    """Whether media named by a webhook may be fetched: https on one of
    META_MEDIA_HOSTS (or a subdomain), or on the Graph API's own host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if not host:
        return False
    graph = urlsplit(settings.GRAPH_API_BASE_URL)
    if (parts.scheme, host, port) == (graph.scheme, graph.hostname, graph.port):
        return True
    return parts.scheme == "https" and any(
        host == allowed or host.endswith("." + allowed)
        for allowed in (h.strip().lower().strip(".") for h in settings.META_MEDIA_HOSTS)
        if allowed
    )


def media_file_name(*, stem: str, content_type: str, url: str = "") -> str:
    """A file name for media that arrived without one."""
    if url:
        last = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        if "." in last and len(last) <= 120:
            return last
    extension = mimetypes.guess_extension(base_type(content_type)) or ""
    return f"{stem}{extension}"


def _error_message(response: requests.Response) -> str:
    """The provider's own words for an error, as Graph puts them in its JSON."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict) or not error.get("message"):
        return f"HTTP {response.status_code} from the Graph API"
    message = str(error["message"])
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else ""
    if details and details not in message:
        message = f"{message.rstrip('.')}: {details}"
    code = error.get("code")
    return f"{message} (code {code})" if code else message


class GraphClient:
    def __init__(self, token: str) -> None:
        self.token = token

    @property
    def _auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def _json(self, method: str, path: str, body: dict | None = None) -> dict:
        url = graph_url(path)
        try:
            response = requests.request(
                method,
                url,
                json=body,
                headers=self._auth,
                timeout=settings.GRAPH_API_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise GraphError(f"the Graph API could not be reached: {exc}") from exc
        if response.status_code >= 400:
            raise GraphError(_error_message(response), status=response.status_code)
        try:
            answer = response.json()
        except ValueError:
            raise GraphError(
                "the Graph API answered without JSON", status=response.status_code
            ) from None
        if not isinstance(answer, dict):
            raise GraphError("the Graph API answered with unexpected JSON")
        return answer

    def get(self, path: str) -> dict:
        return self._json("GET", path)

    def post(self, path: str, body: dict) -> dict:
        return self._json("POST", path, body)

    def media(self, media_id: str, *, declared_type: str = "") -> Media:
        """Fetch a WhatsApp media object: its URL from Graph, then its bytes."""
        info = self.get(media_id)
        content_type = str(info.get("mime_type") or declared_type or "")
        check_type(content_type)
        size = info.get("file_size")
        if size not in (None, "") and str(size).isdigit():
            check_size(int(size))
        url = str(info.get("url") or "")
        if not url:
            raise GraphError(f"Graph gave no URL for media {media_id}")
        return download(url, token=self.token, declared_type=content_type)


def download(url: str, *, token: str = "", declared_type: str = "") -> Media:
    """Download media within the size and type limits.

    MediaRefusedError when the media is too large or of a type not allowed (kept
    as a note); GraphError when it cannot be fetched (the message is retried).
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise MediaRefusedError(f"a media URL must be http(s), not {url[:80]!r}")
    return provider_http.download(
        url,
        provider="Graph",
        declared_type=declared_type,
        timeout=settings.GRAPH_API_TIMEOUT_SECONDS,
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
