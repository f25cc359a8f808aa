"""What an agent sends, as handed to a channel's adapter, how an adapter refuses
it for good, and who is on the other end of a live channel."""

from dataclasses import dataclass, field


class DeliveryRefusedError(Exception):
    """The provider refused a message for good (a 5xx SMTP reply, say): retrying
    cannot deliver it, so the reply fails at once with this reason."""


@dataclass(frozen=True)
class OutboundMessage:
    """What an agent sends, handed to the adapter of the chosen channel."""

    event_id: int
    channel: str
    recipient_kind: str
    recipient: str
    ticket_id: int | None = None
    sender_name: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    # Earlier message ids of the conversation on this channel, oldest first.
    replies_to: tuple[str, ...] = ()
    # Template name and parameters, for channels that need one outside a window.
    template: dict | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LiveContact:
    """A customer on a live channel (a chat visitor): who they are, whether they
    are there now, and the realtime group that reaches them."""

    group: str
    online: bool
    name: str = ""
    email: str = ""
    verified: bool = False
    external_user_id: str = ""
