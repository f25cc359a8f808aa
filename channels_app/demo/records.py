"""The shapes of the demo table: people, their conversations and what happened in them.

Rows are plain data; channels_app.demo.builder plays them through the desk's doors.
Every moment is (days ago, "HH:MM" in UTC), counted back from the day of the run.
Agents, supervisors and teams are named by the keys of channels_app.demo.desk.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from tickets.inbound import InboundAttachment

When = tuple[int, str]
Claim = tuple[str, str]


@dataclass(frozen=True)
class Message:
    """The customer writes, from the identity the person uses on the conversation's
    channel. The external id is fixed, so another run recognises the message."""

    at: When
    id: str
    text: str
    # Identities the message names besides the sender's own, such as a phone
    # number in an email signature or an address the widget asked for.
    also_claims: tuple[Claim, ...] = ()
    files: tuple[InboundAttachment, ...] = ()


@dataclass(frozen=True)
class Assign:
    at: When
    agent: str


@dataclass(frozen=True)
class Reply:
    """An agent answers; on the conversation's channel unless `channel` names one."""

    at: When
    agent: str
    text: str
    channel: str = ""


@dataclass(frozen=True)
class Note:
    at: When
    agent: str
    text: str


@dataclass(frozen=True)
class Resolve:
    at: When
    agent: str
    note: str


@dataclass(frozen=True)
class Reassign:
    at: When
    supervisor: str
    team: str
    reason: str


@dataclass(frozen=True)
class Profile:
    """Someone at the desk sets the customer's segment and tags."""

    at: When
    actor: str
    segment: str
    tags: tuple[str, ...] = ()


Step = Message | Assign | Reply | Note | Resolve | Reassign | Profile


@dataclass(frozen=True)
class Conversation:
    """One ticket's story. It opens with the customer's message; later messages
    with a subject answer the first one ("Re: ..."), as a mail client would."""

    channel: str
    steps: tuple[Step, ...]
    subject: str = ""
    # The widget's session, which threads a web chat.
    session: str = ""


@dataclass(frozen=True)
class Person:
    name: str
    # channel → the identity (kind, value) the person writes from on it.
    reach: Mapping[str, Claim]
    conversations: tuple[Conversation, ...]
    language: str = ""
