"""Amazon SNS message signatures, which Amazon SES inbound mail arrives under.

SNS signs each message with the key of a certificate the message links to
(SigningCertURL). The certificate is fetched only from a URL matching
settings.SNS_CERT_URL_PATTERN (Amazon's own SNS hosts), and kept for
SNS_CERT_CACHE_SECONDS. SignatureVersion 1 signs with SHA-1, 2 with SHA-256.
A message older than SNS_MAX_AGE_SECONDS is refused as a replay.
See https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
"""

import base64
import binascii
import re
import threading
import time
from datetime import UTC, datetime

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.utils.dateparse import parse_datetime

# The fields each kind of message signs, in the order they are signed.
_CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
SIGNED_FIELDS = {
    "Notification": (
        "Message",
        "MessageId",
        "Subject",
        "Timestamp",
        "TopicArn",
        "Type",
    ),
    "SubscriptionConfirmation": _CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": _CONFIRMATION_FIELDS,
}
# Only a Notification's Subject may be left out (SNS signs it when it is there).
OPTIONAL_FIELDS = {"Subject"}
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
CERT_MAX_BYTES = 64 * 1024
CERT_FETCH_TIMEOUT_SECONDS = 5.0
CACHE_SIZE = 32


class SnsSignatureError(Exception):
    """A message whose signature is missing, wrong, or made with a certificate
    the desk does not trust."""


class SnsCertificateUnavailable(Exception):
    """The signing certificate could not be fetched just now: SNS should try
    the delivery again later."""


_certificates: dict[str, tuple[float, x509.Certificate]] = {}
_lock = threading.Lock()


def string_to_sign(message: dict) -> bytes:
    kind = message.get("Type")
    fields = SIGNED_FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise SnsSignatureError(f"SNS message of unknown type {kind!r}")
    lines = []
    for name in fields:
        value = message.get(name)
        if value is None and name in OPTIONAL_FIELDS and kind == "Notification":
            continue
        if not isinstance(value, str):
            raise SnsSignatureError(f"SNS {kind} without a {name}")
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode()


def verify_sns_message(message: dict) -> None:
    """Raise SnsSignatureError unless SNS signed this message, recently.

    SnsCertificateUnavailable when the certificate could not be fetched.
    """
    if not isinstance(message, dict):
        raise SnsSignatureError("an SNS message is a JSON object")
    algorithm = HASHES.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise SnsSignatureError(
            f"SNS SignatureVersion {message.get('SignatureVersion')!r} is not 1 or 2"
        )
    try:
        signature = base64.b64decode(message.get("Signature") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise SnsSignatureError("SNS Signature is not base64") from None
    if not signature:
        raise SnsSignatureError("SNS message without a Signature")
    signed = string_to_sign(message)
    certificate = signing_certificate(message.get("SigningCertURL"))
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsSignatureError("the SNS signing certificate's key is not RSA")
    try:
        key.verify(signature, signed, padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise SnsSignatureError("SNS Signature does not match the message") from None
    _check_age(message["Timestamp"])


def _check_age(stamp: str) -> None:
    try:
        sent = parse_datetime(stamp)
    except ValueError:
        sent = None
    if sent is None or sent.tzinfo is None:
        raise SnsSignatureError(f"SNS Timestamp {stamp[:40]!r} is not a time")
    age = (datetime.now(UTC) - sent).total_seconds()
    if age > settings.SNS_MAX_AGE_SECONDS:
        raise SnsSignatureError(f"SNS message sent {int(age)} seconds ago: too old")
    if age < -settings.WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS:
        raise SnsSignatureError("SNS message dated in the future")


def signing_certificate(url) -> x509.Certificate:
    """The certificate at an allowed URL, from the cache when it is there."""
    if not isinstance(url, str) or not re.fullmatch(settings.SNS_CERT_URL_PATTERN, url):
        raise SnsSignatureError(f"SNS SigningCertURL {str(url)[:200]!r} is not allowed")
    now = time.monotonic()
    with _lock:
        cached = _certificates.get(url)
    if cached is not None and cached[0] > now:
        certificate = cached[1]
    else:
        certificate = _fetch(url)
        with _lock:
            if len(_certificates) >= CACHE_SIZE:
                _certificates.clear()
            _certificates[url] = (now + settings.SNS_CERT_CACHE_SECONDS, certificate)
    now_utc = datetime.now(UTC)
    if not (
        certificate.not_valid_before_utc <= now_utc <= certificate.not_valid_after_utc
    ):
        raise SnsSignatureError("the SNS signing certificate is not valid now")
    return certificate


def _fetch(url: str) -> x509.Certificate:
    try:
        with requests.get(
            url,
            timeout=CERT_FETCH_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        ) as response:
            if response.status_code != 200:
                raise SnsCertificateUnavailable(
                    f"{url} answered {response.status_code}"
                )
            pem = response.raw.read(CERT_MAX_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise SnsCertificateUnavailable(f"{url}: {exc}") from None
    if len(pem) > CERT_MAX_BYTES:
        raise SnsSignatureError(f"{url} is larger than a certificate")
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise SnsSignatureError(f"{url} holds no PEM certificate") from None


def forget_certificates() -> None:
    """Empty the cache (tests, or a certificate Amazon revoked)."""
    with _lock:
        _certificates.clear()
