"""A real SMTP server on loopback (aiosmtpd) that keeps every mail it accepts, or
answers with the refusal a test asks for; the `smtp_server` fixture points the
desk's email settings at it."""

import socket
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    """A loopback port nothing listens on (until someone binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


class _Handler:
    def __init__(self, server: "SmtpServer") -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.server.refuse_recipients_with:
            self.server.refused.append(address)
            return self.server.refuse_recipients_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.server.received.append(
            ReceivedMail(
                mail_from=envelope.mail_from,
                recipients=tuple(envelope.rcpt_tos),
                raw=envelope.original_content or envelope.content,
            )
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    """Accepts everything, unless refuse_recipients_with holds an SMTP reply
    ("550 5.1.1 No such user") for every recipient."""

    def __init__(self, port: int | None = None) -> None:
        self.received: list[ReceivedMail] = []
        # Every recipient refused, once per attempt.
        self.refused: list[str] = []
        self.refuse_recipients_with = ""
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._controller = Controller(
            _Handler(self), hostname=self.host, port=self.port
        )

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


def use_smtp(settings, *, port: int, host: str = "127.0.0.1") -> None:
    """Send the desk's mail over SMTP to host:port, without TLS or login."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = host
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10


@pytest.fixture
def smtp_server(settings):
    """A running SMTP server on loopback that the desk's mail goes to."""
    server = SmtpServer().start()
    use_smtp(settings, port=server.port, host=server.host)
    yield server
    server.stop()
