"""HTTP calls to the Telegram and Twilio APIs: JSON answers, errors in the
provider's own words, and media downloads within the size and type limits.

Telegram puts the bot token in its URLs, so no error raised here ever quotes a URL.
"""

import fnmatch
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

from channels_app.models import Inbox
from tickets.outbound import DeliveryRefusedError

_CHUNK_BYTES = 64 * 1024


class ProviderError(Exception):
    """The provider answered with an error or could not be reached.

    `permanent` is true for a refusal a retry cannot change: a 4xx other than a
    timeout or a rate limit.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def permanent(self) -> bool:
        return (
            self.status is not None
            and 400 <= self.status < 500
            and self.status not in (408, 429)
        )


class MediaRefusedError(Exception):
    """Media kept as a note rather than bytes: too large, or of a type not allowed."""


@dataclass(frozen=True)
class Media:
    content: bytes
    content_type: str


def base_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def media_type_allowed(content_type: str) -> bool:
    kind = base_type(content_type)
    return bool(kind) and any(
        fnmatch.fnmatchcase(kind, pattern.strip().lower())
        for pattern in settings.ALLOWED_MEDIA_TYPES
    )


def file_name_for(stem: str, content_type: str) -> str:
    return stem + (mimetypes.guess_extension(base_type(content_type)) or "")


def check_size(size: int) -> None:
    if size > settings.MAX_MEDIA_BYTES:
        raise MediaRefusedError(
            f"{size} bytes, over the {settings.MAX_MEDIA_BYTES}-byte limit"
        )


def check_type(content_type: str) -> None:
    if not media_type_allowed(content_type):
        kind = base_type(content_type) or "unknown"
        raise MediaRefusedError(f"type {kind} is not an allowed media type")


def inbox_for_sending(key: str, inbox: Inbox | None) -> Inbox:
    """The inbox a reply leaves through: its own, else the first enabled one of
    the adapter (a customer who called may be answered by SMS)."""
    if inbox is not None:
        return inbox

    default = Inbox.objects.filter(adapter=key, enabled=True).order_by("pk").first()
    if default is None:
        raise DeliveryRefusedError(f"no enabled {key} inbox to send from")
    return default


def _timeout() -> float:
    return settings.PROVIDER_API_TIMEOUT_SECONDS


def call_json(
    method: str,
    url: str,
    *,
    provider: str,
    describe_error: Callable[[dict[str, Any]], str],
    **kwargs: Any,
) -> dict[str, Any]:
    """One API call answered with a JSON object; ProviderError otherwise.

    describe_error(answer: dict) gives the provider's words for an error answer.
    """
    try:
        response = requests.request(method, url, timeout=_timeout(), **kwargs)
    except requests.RequestException as exc:
        # The exception's text holds the URL (and a Telegram token with it).
        raise ProviderError(
            f"the {provider} API could not be reached ({type(exc).__name__})"
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise ProviderError(
            f"the {provider} API answered HTTP {response.status_code} without a "
            "JSON object",
            status=response.status_code if response.status_code >= 400 else None,
        )
    if response.status_code >= 400:
        reason = describe_error(answer) or f"HTTP {response.status_code}"
        raise ProviderError(
            f"{provider} refused: {reason}", status=response.status_code
        )
    return answer


def download(
    url: str,
    *,
    provider: str,
    declared_type: str = "",
    timeout: float | None = None,
    **kwargs: Any,
) -> Media:
    """Fetch media within MAX_MEDIA_BYTES and ALLOWED_MEDIA_TYPES.

    MediaRefusedError for media kept as a note; ProviderError when it cannot be
    fetched, so the stored payload fails visibly and can be replayed. `timeout`
    defaults to PROVIDER_API_TIMEOUT_SECONDS.
    """
    if declared_type:
        check_type(declared_type)
    try:
        with requests.get(
            url, stream=True, timeout=timeout or _timeout(), **kwargs
        ) as response:
            if response.status_code >= 400:
                raise ProviderError(
                    f"{provider} media download answered HTTP {response.status_code}",
                    status=response.status_code,
                )
            served = base_type(response.headers.get("Content-Type", ""))
            # File servers often call everything octet-stream; the type the
            # message declared is the better word then.
            if not served or served == "application/octet-stream":
                content_type = base_type(declared_type) or served
            else:
                content_type = served
            check_type(content_type)
            length = response.headers.get("Content-Length", "")
            if length.isdigit():
                check_size(int(length))
            chunks, total = [], 0
            for chunk in response.iter_content(_CHUNK_BYTES):
                total += len(chunk)
                check_size(total)
                chunks.append(chunk)
    except requests.RequestException as exc:
        raise ProviderError(
            f"{provider} media could not be downloaded ({type(exc).__name__})"
        ) from None
    return Media(content=b"".join(chunks), content_type=content_type)
