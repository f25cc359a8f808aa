from dataclasses import dataclass, field

from channels_app.inbound import InboundMessage


@dataclass(frozen=True)
class OutboundMessage:
    """What an agent sends, handed to the adapter of the chosen channel."""

    event_id: int
    channel: str
    recipient_kind: str
    recipient: str
    subject: str = ""
    text: str = ""
    html: str = ""
    replies_to: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict)


class ChannelAdapter:
    key: str = ""

    def parse(self, payload: bytes) -> list[InboundMessage]:
        """Turn a stored raw payload into messages, or raise InboundError."""
        raise NotImplementedError

    def send(self, message: OutboundMessage) -> str:
        """Hand a message to the provider; return the provider's id for it."""
        raise NotImplementedError
