"""Who a widget visitor is: the desk's signed visitor token, and the host site's
signed user id for its logged-in customers."""

import hashlib
import hmac
import time

from django.conf import settings
from django.core import signing

from channels_app.models import ChatVisitor, Inbox

_SALT = "supportdesk.widget.visitor"
# A host site's clock may run a little ahead of the desk's.
_CLOCK_SKEW_SECONDS = 300


class IdentityRefusedError(ValueError):
    """A signed user id that is forged, malformed or too old."""


def issue_token(visitor: ChatVisitor) -> str:
    return signing.dumps(
        {"v": visitor.public_id.hex, "i": visitor.inbox_id, "t": int(time.time())},
        salt=_SALT,
    )


def visitor_for_token(token: str, inbox: Inbox) -> ChatVisitor | None:
    """The visitor a token names, if it is genuine, of this inbox and not expired.

    A verified visitor's token lasts only as long as a signed user id does, so a
    shared computer does not keep someone's chat after the host site forgot them.
    """
    if not isinstance(token, str) or not token or len(token) > 512:
        return None
    try:
        data = signing.loads(
            token, salt=_SALT, max_age=settings.WIDGET_TOKEN_MAX_AGE_DAYS * 86400
        )
        public_id, inbox_id, issued = str(data["v"]), int(data["i"]), int(data["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if inbox_id != inbox.pk:
        return None
    visitor = ChatVisitor.objects.filter(public_id=public_id, inbox=inbox).first()
    if visitor is None:
        return None
    if visitor.verified and time.time() - issued > identity_max_age(inbox):
        return None
    return visitor


def identity_max_age(inbox: Inbox) -> int:
    value = inbox.config.get("identity_max_age")
    try:
        return int(value) if value else settings.WIDGET_IDENTITY_MAX_AGE_SECONDS
    except (TypeError, ValueError):
        return settings.WIDGET_IDENTITY_MAX_AGE_SECONDS


def user_hash(secret: str, *, user_id: str, timestamp: int) -> str:
    """What the host site computes: hex HMAC-SHA256 of "<timestamp>.<user id>"."""
    message = f"{timestamp}.{user_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def check_user_identity(inbox: Inbox, user: dict) -> str:
    """The verified user id from a host site's {"id", "hash", "ts"}, or raise."""
    if not isinstance(user, dict):
        raise IdentityRefusedError("the user must be an object with id, hash and ts")
    user_id, signature = str(user.get("id") or ""), str(user.get("hash") or "")
    try:
        timestamp = int(user.get("ts"))
    except (TypeError, ValueError, OverflowError):
        raise IdentityRefusedError("the user's ts must be unix seconds") from None
    if not user_id or len(user_id) > 200 or not signature:
        raise IdentityRefusedError("the user needs an id (at most 200 characters)")
    if user_id != user_id.strip():
        # The customer's web identity is stored trimmed: a padded id would name
        # a visitor whose replies find no one to go to.
        raise IdentityRefusedError("the user's id has spaces around it")
    secret = inbox.secret("identity_secret")
    if not secret:
        raise IdentityRefusedError("this inbox takes no signed user ids")
    expected = user_hash(secret, user_id=user_id, timestamp=timestamp)
    # Bytes: compare_digest refuses str with characters outside ASCII.
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise IdentityRefusedError("the user's hash does not match")
    age = time.time() - timestamp
    if age > identity_max_age(inbox) or age < -_CLOCK_SKEW_SECONDS:
        raise IdentityRefusedError("the user's signature is stale")
    return user_id
