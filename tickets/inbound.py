"""The one normalised type every channel adapter turns its input into."""

import base64
import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime


class InboundError(Exception):
    """Input that cannot become a timeline event; the message says why."""


class UnsupportedEventError(InboundError):
    """A payload of a kind the adapter does not know; kept and marked unsupported."""


@dataclass(frozen=True)
class IdentityClaim:
    """A way to reach the sender, as the channel reported it (not yet normalised)."""

    kind: str
    value: str


@dataclass(frozen=True)
class InboundAttachment:
    name: str
    content_type: str
    content: bytes
    content_id: str = ""
    inline: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _optional_int(value) -> int | None:
    return None if value in (None, "") else int(value)


@dataclass(frozen=True)
class DeliveryUpdate:
    """A provider's word on a message the desk sent: sent, delivered, read, failed."""

    channel: str
    external_id: str
    status: str
    error: str = ""
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class MessageRevision:
    """A customer edited or deleted a message already on the timeline."""

    channel: str
    external_id: str
    revision_id: str
    text: str = ""
    deleted: bool = False
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class CallRecording:
    """A voice provider's recording of a call already on the timeline."""

    channel: str
    external_id: str
    recording_url: str
    recording_id: str = ""
    duration_seconds: int | None = None


@dataclass(frozen=True)
class ConversationRating:
    """A customer's rating (1 to 5, with a comment) of a resolved ticket."""

    channel: str
    ticket_id: int
    score: int
    comment: str = ""


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    external_id: str
    # The sender first; further claims (a phone in a mail signature field, say) after.
    identities: tuple[IdentityClaim, ...]
    sender_name: str = ""
    subject: str = ""
    text: str = ""
    quoted_text: str = ""
    html: str = ""
    occurred_at: datetime | None = None
    # External ids this message answers (In-Reply-To, References, quoted message).
    replies_to: tuple[str, ...] = ()
    conversation_key: str = ""
    # Conversational channels continue the customer's open ticket on that channel;
    # email threads only by reference and opens a new ticket otherwise.
    continues_open_conversation: bool = True
    # Auto-replies and bounces: attached where they belong, never a new ticket.
    automated: bool = False
    language: str = ""
    attachments: tuple[InboundAttachment, ...] = ()
    metadata: dict = field(default_factory=dict)
    # message_in, or call for a call the provider reports (details in metadata).
    event_kind: str = "message_in"
    # The inbox (slug) it came through; set from the raw record when processed.
    inbox: str = ""
    # A ticket named by a signed token the adapter verified (a reply address).
    ticket_token: int | None = None
    # A ticket number written in the subject: counts only for that ticket's customer.
    subject_ticket: int | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        data["identities"] = [asdict(claim) for claim in self.identities]
        data["replies_to"] = list(self.replies_to)
        data["occurred_at"] = self.occurred_at.isoformat() if self.occurred_at else None
        data["attachments"] = [
            {**asdict(a), "content": base64.b64encode(a.content).decode("ascii")}
            for a in self.attachments
        ]
        return data

    @classmethod
    def from_json(cls, data: dict) -> "InboundMessage":
        """Build a message from its JSON form; malformed input raises InboundError."""
        if not isinstance(data, dict):
            raise InboundError("a message must be a JSON object")
        try:
            claims = tuple(
                IdentityClaim(kind=str(c["kind"]), value=str(c["value"]))
                for c in data.get("identities") or ()
            )
            attachments = tuple(
                InboundAttachment(
                    name=str(a.get("name", "")),
                    content_type=str(
                        a.get("content_type") or "application/octet-stream"
                    ),
                    content=base64.b64decode(a.get("content", ""), validate=True),
                    content_id=str(a.get("content_id", "")),
                    inline=bool(a.get("inline", False)),
                )
                for a in data.get("attachments") or ()
            )
            occurred_at = data.get("occurred_at")
            return cls(
                channel=str(data["channel"]),
                external_id=str(data.get("external_id") or ""),
                identities=claims,
                sender_name=str(data.get("sender_name") or ""),
                subject=str(data.get("subject") or ""),
                text=str(data.get("text") or ""),
                quoted_text=str(data.get("quoted_text") or ""),
                html=str(data.get("html") or ""),
                occurred_at=datetime.fromisoformat(occurred_at)
                if occurred_at
                else None,
                replies_to=tuple(str(r) for r in data.get("replies_to") or ()),
                conversation_key=str(data.get("conversation_key") or ""),
                continues_open_conversation=bool(
                    data.get("continues_open_conversation", True)
                ),
                automated=bool(data.get("automated", False)),
                language=str(data.get("language") or ""),
                attachments=attachments,
                metadata=dict(data.get("metadata") or {}),
                event_kind=str(data.get("event_kind") or "message_in"),
                inbox=str(data.get("inbox") or ""),
                ticket_token=_optional_int(data.get("ticket_token")),
                subject_ticket=_optional_int(data.get("subject_ticket")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InboundError(f"malformed message: {exc!r}") from exc
