"""Signed ticket tokens in reply addresses: support+t123-<signature>@desk.example.

The desk's replies carry such an address in Reply-To; a mail sent to it (in To or
Cc) continues that ticket whoever sends it. The signature is an HMAC keyed by
SECRET_KEY (or one of SECRET_KEY_FALLBACKS, so rotating the key keeps old replies
working): a ticket number typed into an address by hand names no ticket.
"""

import base64
import re
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "channels_app.email.tokens.reply-address"
SIGNATURE_CHARS = 10
# The tag at the end of an address's local part: +t<ticket>-<signature>.
_TOKEN = re.compile(rf"\+t(\d{{1,18}})-([a-z2-7]{{{SIGNATURE_CHARS}}})$")


def _signature(ticket_id: int, secret: str) -> str:
    digest = salted_hmac(
        _SALT, f"ticket:{ticket_id}", secret=secret, algorithm="sha256"
    )
    return base64.b32encode(digest.digest()).decode("ascii").lower()[:SIGNATURE_CHARS]


def _base_address(inbox) -> str:
    config = inbox.config if inbox is not None else {}
    address = str(config.get("address") or "").strip()
    return parseaddr(address or settings.DEFAULT_FROM_EMAIL)[1]


def reply_address(*, ticket_id: int, inbox=None) -> str:
    """The inbox's address (else DEFAULT_FROM_EMAIL's) tagged with the ticket's
    signed token, e.g. support+t123-k2j5x9q3ab@desk.example."""
    local, _, domain = _base_address(inbox).rpartition("@")
    if not local:
        raise ValueError("no address to build a reply address from")
    tag = f"+t{ticket_id}-{_signature(ticket_id, settings.SECRET_KEY)}"
    return f"{local}{tag}@{domain}"


def _verified_ticket(address: str) -> int | None:
    local = address.rpartition("@")[0].lower()
    match = _TOKEN.search(local)
    if not match:
        return None
    ticket_id, signature = int(match.group(1)), match.group(2)
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    if any(
        constant_time_compare(signature, _signature(ticket_id, key)) for key in keys
    ):
        return ticket_id
    return None


def ticket_from_addresses(addresses: list[str]) -> int | None:
    """The ticket of the first address that carries a valid token; forged and
    garbled tokens are ignored. Addresses may be bare or "Name <address>"."""
    try:
        pairs = getaddresses([str(address) for address in addresses])
    except Exception:  # a broken list carries no token
        return None
    for _, address in pairs:
        ticket_id = _verified_ticket(address.strip())
        if ticket_id is not None:
            return ticket_id
    return None
