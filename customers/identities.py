"""Normalising the ways a customer can be reached: emails lower-cased, phones E.164."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from customers.models import IdentityKind

PHONE_KINDS = frozenset({IdentityKind.PHONE, IdentityKind.WHATSAPP, IdentityKind.SMS})
# A number seen on one of these is also the person's phone, so calls, SMS and
# WhatsApp from one number meet on one timeline.
ALSO_A_PHONE = frozenset({IdentityKind.WHATSAPP, IdentityKind.SMS})
MAX_HANDLE_LENGTH = 320


class InvalidIdentityError(ValueError):
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
    if kind not in IdentityKind.values:
        raise InvalidIdentityError(f"unknown identity kind {kind!r}")
    if not value or not value.strip():
        raise InvalidIdentityError(f"empty {kind} identity")
    if kind == IdentityKind.EMAIL:
        return kind, normalise_email(value)
    if kind in PHONE_KINDS:
        # WhatsApp ids are international numbers written without the plus.
        whatsapp = kind == IdentityKind.WHATSAPP
        return kind, normalise_phone(value, international=whatsapp, verified=whatsapp)
    handle = value.strip()
    if len(handle) > MAX_HANDLE_LENGTH:
        raise InvalidIdentityError(
            f"{kind} identity is longer than {MAX_HANDLE_LENGTH}"
        )
    return kind, handle


def normalise_claims(claims) -> list[tuple[str, str]]:
    """Normalised (kind, value) pairs in claim order, without repeats."""
    pairs: dict[tuple[str, str], None] = {}
    for claim in claims:
        kind, value = normalise_identity(claim.kind, claim.value)
        pairs[(kind, value)] = None
        if kind in ALSO_A_PHONE:
            pairs[(IdentityKind.PHONE.value, value)] = None
    return list(pairs)
