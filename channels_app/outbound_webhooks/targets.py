"""Which URLs the desk posts webhooks to.

A webhook URL is typed by an admin, but the request leaves from inside the desk's
network: a URL that reaches a loopback, private or link-local address would let it
call services never meant to be reachable (a cloud metadata endpoint, a database's
HTTP port). Such addresses are refused unless WEBHOOK_ALLOWED_TARGET_NETWORKS
names them. Every address a host resolves to is checked, at registration and again
at each delivery, since DNS answers change.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = {"http": 80, "https": 443}


class TargetRefused(ValueError):
    """A URL the desk will not post to; trying again cannot change that."""


class TargetUnreachable(OSError):
    """The URL's host could not be resolved now; it may resolve later."""


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [
            ipaddress.ip_network(cidr.strip(), strict=False)
            for cidr in settings.WEBHOOK_ALLOWED_TARGET_NETWORKS
            if cidr.strip()
        ]
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"WEBHOOK_ALLOWED_TARGET_NETWORKS holds a bad network: {exc}"
        ) from None


def _kind_of(ip: IPAddress) -> str | None:
    """Why an address is not a public one, or None for a public address."""
    # Order matters: 0.0.0.0 and 169.254.x.x count as private too, and the
    # narrower word says more.
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),
    )
    return next((kind for kind, applies in checks if applies), None)


def address_refusal(address: str) -> str | None:
    """Why the desk will not connect to this address ("10.0.0.7, a private
    address"), or None if it may."""
    # An IPv6 address may carry its interface ("fe80::1%eth0").
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        # ::ffff:127.0.0.1 is 127.0.0.1 on the wire.
        ip = ip.ipv4_mapped
    if any(ip in network for network in allowed_networks()):
        return None
    kind = _kind_of(ip)
    return f"{ip}, a {kind} address" if kind else None


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (an IP literal is its own)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetUnreachable(f"{host} could not be resolved ({exc})") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_url_form(url: str) -> tuple[str, int]:
    """The host and port of a URL the desk may post to, as far as its text
    tells; TargetRefused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"the URL is malformed: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise TargetRefused("only http and https URLs are allowed")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        # The signature authenticates the desk; a password in a URL would show
        # in every list of endpoints.
        raise TargetRefused("the URL must not hold a user name or password")
    return parts.hostname, port or SCHEMES[parts.scheme]


def check_target_url(url: str) -> list[str]:
    """Resolve the URL's host and refuse it if any address it resolves to is not
    allowed. Returns the addresses; TargetRefused or TargetUnreachable otherwise."""
    host, port = check_url_form(url)
    addresses = resolve(host, port)
    for address in addresses:
        if refusal := address_refusal(address):
            where = "" if host == address else f"{host} resolves to "
            raise TargetRefused(
                f"{where}{refusal}: webhooks are not sent to loopback, private, "
                "link-local or reserved addresses (WEBHOOK_ALLOWED_TARGET_NETWORKS "
                "may allow some)"
            )
    return addresses
