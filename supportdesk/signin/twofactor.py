"""The second factor: an authenticator app (TOTP) and ten recovery codes, each
usable once (django-otp's TOTP and static devices)."""

import io
import time
from base64 import b32encode

import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp import DEVICE_ID_SESSION_KEY, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODE_COUNT = 10
# An agent whose password was right, waiting to give the code: who, by which
# backend, since when, and where to go after.
PENDING_KEY = "signin_pending"
PENDING_SECONDS = 300


def is_required(user) -> bool:
    return getattr(user, "role", None) in settings.TWO_FACTOR_REQUIRED_ROLES


def has_device(user) -> bool:
    return user_has_device(user, confirmed=True)


def app_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def pending_device(user) -> TOTPDevice:
    """The unconfirmed authenticator the agent is setting up (made on first ask)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name="Authenticator app", confirmed=False
        )
    return device


def secret_text(device: TOTPDevice) -> str:
    """The key as an app's manual entry wants it: base32 in groups of four."""
    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def qr_svg(device: TOTPDevice) -> bytes:
    buffer = io.BytesIO()
    segno.make(device.config_url, error="m").save(
        buffer, kind="svg", scale=5, border=2, dark="#000", light="#fff"
    )
    return buffer.getvalue()


def clean_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


@transaction.atomic
def confirm_app(user, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirms the authenticator with a code from it; it replaces any earlier
    second factor. Returns the new recovery codes, or None for a wrong code."""
    if not device.verify_token(clean_code(code)):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return new_recovery_codes(user)


@transaction.atomic
def new_recovery_codes(user) -> list[str]:
    """Ten fresh codes; the earlier ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes")
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=code) for code in codes
    )
    return codes


@transaction.atomic
def remove_devices(user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def verify(user, code: str):
    """The device that accepts the code (a six-digit one from the app, else a
    recovery code, which is then used up), or None. Both kinds slow down after
    wrong codes (django-otp's throttling)."""
    code = clean_code(code)
    if not code:
        return None
    if code.isdigit():
        devices = TOTPDevice.objects.filter(user=user, confirmed=True)
    else:
        devices = StaticDevice.objects.filter(user=user, confirmed=True)
    with transaction.atomic():
        for device in devices.select_for_update():
            if device.verify_token(code):
                return device
    return None


def hold_for_code(request: HttpRequest, user, next_url: str) -> None:
    """Remembers that the password was right; the sign-in ends with the code."""
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": user.backend,
        "since": int(time.time()),
        "next": next_url,
    }


def pending(request: HttpRequest) -> dict | None:
    held = request.session.get(PENDING_KEY)
    if not held or time.time() - held["since"] > PENDING_SECONDS:
        return None
    return held


def is_verified_session(request: HttpRequest) -> bool:
    return DEVICE_ID_SESSION_KEY in request.session
