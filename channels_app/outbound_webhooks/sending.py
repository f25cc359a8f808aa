"""One signed POST of a delivery's body, over connections that check where they
landed.

The target's addresses are checked before the request (check_target_url), but the
HTTP client resolves the host again: a DNS answer that changed in between would
slip past. So every connection checks the address it actually reached and drops
it when that address is refused.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from channels_app.outbound_webhooks.targets import TargetRefused, address_refusal

USER_AGENT = "SupportDesk-Webhooks/1"
SIGNATURE_VERSION = "v1"
# Enough of a receiver's answer to say what went wrong in the delivery log.
_EXCERPT_BYTES = 300


def encode_body(payload: dict) -> bytes:
    """The bytes that are sent and signed; the same for every attempt."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: "v1=" and the hex HMAC-SHA256 of
    "<timestamp>." followed by the body."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signed_headers(*, secret: str, event: str, delivery_id: str, body: bytes) -> dict:
    timestamp = int(time.time())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Desk-Event": event,
        "X-Desk-Delivery": delivery_id,
        "X-Desk-Timestamp": str(timestamp),
        "X-Desk-Signature": signature(secret, timestamp, body),
    }


class _CheckedConnectionMixin:
    def _new_conn(self):
        sock = super()._new_conn()
        if refusal := address_refusal(sock.getpeername()[0]):
            sock.close()
            raise TargetRefused(f"the connection reached {refusal}")
        return sock


class _CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


@dataclass(frozen=True)
class Answer:
    status_code: int
    excerpt: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def post(url: str, *, body: bytes, headers: dict, timeout: float) -> Answer:
    """POST once, without following redirects: a redirect could lead anywhere,
    so it counts as a failed attempt. TargetRefused or requests' errors."""
    with requests.Session() as session:
        # Proxies from the environment would hide where the request lands.
        session.trust_env = False
        adapter = _CheckedAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        with session.post(
            url,
            data=body,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            head = next(response.iter_content(_EXCERPT_BYTES), b"")
            return Answer(
                status_code=response.status_code,
                excerpt=head[:_EXCERPT_BYTES].decode("utf-8", "replace"),
            )


def describe_failure(exc: Exception, *, timeout: float) -> str:
    """Words for the delivery log; never the URL, which may hold a receiver's
    token in its query."""
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g}s ({type(exc).__name__})"
    cause = _os_cause(exc)
    reason = f": {cause.strerror}" if cause is not None else ""
    if isinstance(exc, requests.ConnectionError):
        return f"could not connect{reason}"
    return f"the request failed ({type(exc).__name__}){reason}"


def _os_cause(exc: BaseException) -> OSError | None:
    """The socket error at the bottom of requests' and urllib3's wrappers."""
    seen = exc
    for _ in range(10):
        if seen is None or (isinstance(seen, OSError) and seen.strerror):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
