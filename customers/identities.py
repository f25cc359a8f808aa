"""Normalising the ways a customer can be reached: emails lower-cased, phones E.164.

How a kind is written comes from the adapter that declares it (see
supportdesk.registry.IdentityKindSpec); a kind no registered adapter declares is
refused.
"""

from collections.abc import Iterable
from typing import Protocol

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from supportdesk import registry
from supportdesk.channel_names import IdentityKind
from supportdesk.errors import ActionError

MAX_HANDLE_LENGTH = 320


class Claim(Protocol):
    """A way to reach a sender as a channel reported it, not yet normalised.

    A protocol rather than a class of this app: the parsed messages that carry
    claims are defined above customers, which may not import them.
    """

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> str: ...


class InvalidIdentityError(ActionError):
    pass


def normalise_email(value: str) -> str:
    address = value.strip().strip("<>").strip()
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidIdentityError(f"{value!r} is not a valid email address") from None
    return address.lower()


def normalise_phone(
    value: str, *, international: bool = False, verified: bool = False
) -> str:
    """E.164 form of a number. A number the provider has verified (a WhatsApp id)
    only has to be possible: libphonenumber's ranges lag behind real ones."""
    raw = value.strip()
    if raw.lower().startswith(("tel:", "whatsapp:", "sms:")):
        raw = raw.split(":", 1)[1]
    if international and not raw.startswith("+"):
        raw = "+" + raw
    try:
        number = phonenumbers.parse(raw, settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidIdentityError(f"{value!r} is not a phone number") from None
    acceptable = (
        phonenumbers.is_possible_number if verified else phonenumbers.is_valid_number
    )
    if not acceptable(number):
        raise InvalidIdentityError(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_identity(kind: str, value: str) -> tuple[str, str]:
    spec = registry.identity_kinds().get(kind)
    if spec is None:
        raise InvalidIdentityError(f"unknown identity kind {kind[:40]!r}")
    if not value or not value.strip():
        raise InvalidIdentityError(f"empty {kind} identity")
    if spec.form == registry.EMAIL_FORM:
        return kind, normalise_email(value)
    if spec.form == registry.PHONE_FORM:
        verified = spec.provider_number
        return kind, normalise_phone(value, international=verified, verified=verified)
    handle = value.strip()
    if len(handle) > MAX_HANDLE_LENGTH:
        raise InvalidIdentityError(
            f"{kind} identity is longer than {MAX_HANDLE_LENGTH}"
        )
    return kind, handle


def normalise_claims(claims: Iterable[Claim]) -> list[tuple[str, str]]:
    """Normalised (kind, value) pairs in claim order, without repeats."""
    pairs: dict[tuple[str, str], None] = {}
    for claim in claims:
        kind, value = normalise_identity(claim.kind, claim.value)
        pairs[(kind, value)] = None
        if registry.identity_kinds()[kind].also_a_phone:
            pairs[(IdentityKind.PHONE, value)] = None
    return list(pairs)


def parse_identity(text: str) -> tuple[str, str]:
    """A "kind:value" string, as typed on a command line, as a normalised pair."""
    kind, separator, value = text.partition(":")
    if not separator:
        raise InvalidIdentityError(
            f"{text!r} is not kind:value, e.g. email:ana@example.com"
        )
    return normalise_identity(kind.strip().lower(), value)
