"""Amazon SNS as the tests play it: a key and certificate made here, the
certificate served over loopback, and messages signed with the key the way SNS
signs them."""

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from channels_app.email.sns import forget_certificates, string_to_sign
from tests.provider_server import ProviderServer, Reply

CERT_PATH = "/SimpleNotificationService-test.pem"


def make_certificate(key, *, days: int = 30) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class FakeSns:
    server: ProviderServer
    key: rsa.RSAPrivateKey

    @property
    def cert_url(self) -> str:
        return self.server.url + CERT_PATH

    def certificate_fetches(self) -> int:
        return sum(1 for r in self.server.requests if r.path == CERT_PATH)

    def sign(self, message: dict, *, version: str = "1", key=None) -> dict:
        """The message as SNS posts it, signed with SignatureVersion `version`."""
        message = {
            **message,
            "SignatureVersion": version,
            "SigningCertURL": message.get("SigningCertURL", self.cert_url),
        }
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = (key or self.key).sign(
            string_to_sign(message), padding.PKCS1v15(), algorithm
        )
        return {**message, "Signature": base64.b64encode(signature).decode()}

    def notification(self, ses_event: dict, **fields) -> tuple[str, dict]:
        """A signed SNS Notification carrying an SES event: the body and the
        headers SNS sends with it."""
        sns_id = str(uuid.uuid4())
        version = fields.pop("version", "1")
        body = self.sign(
            {
                "Type": "Notification",
                "MessageId": sns_id,
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:desk-inbound",
                "Message": json.dumps(ses_event),
                "Timestamp": now_stamp(),
                **fields,
            },
            version=version,
        )
        headers = {
            "HTTP_X_AMZ_SNS_MESSAGE_TYPE": body["Type"],
            "HTTP_X_AMZ_SNS_MESSAGE_ID": body["MessageId"],
        }
        return json.dumps(body), headers


def now_stamp(offset: timedelta = timedelta()) -> str:
    moment = datetime.now(UTC) + offset
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@pytest.fixture
def fake_sns(provider_server, settings):
    """SNS's signing certificate served from loopback, which the desk is told
    to trust in place of Amazon's hosts."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    provider_server.route(
        "GET",
        CERT_PATH,
        Reply(body=make_certificate(key), content_type="application/x-x509-ca-cert"),
    )
    settings.SNS_CERT_URL_PATTERN = (
        r"http://127\.0\.0\.1:\d+/SimpleNotificationService-[a-z0-9-]+\.pem"
    )
    forget_certificates()
    yield FakeSns(server=provider_server, key=key)
    forget_certificates()
