"""Raw mail as the doors receive it, before any parsing: the Message-ID that
recognises a mail delivered again, and a stand-in for a mail too large to keep."""

from email.message import Message
from email.policy import compat32

from channels_app.email.headers import message_ids


def message_id_of(value) -> str:
    """A Message-ID header value as the desk stores it ("<local@domain>", the
    spelling the parser gives the message's events); "" when there is none."""
    found = message_ids(str(value or ""))
    return found[0] if found else ""


def oversized_stand_in(headers: Message, *, size: int, limit: int, where: str) -> bytes:
    """A small mail that keeps the headers of one too large to store, with a note.

    The desk records every mail it is handed: one over the size limit becomes this
    plain-text message from the same sender, with the same subject and threading
    headers, saying what happened to the original.
    """
    stand_in = Message(policy=compat32)
    for name, value in headers.raw_items():
        if name.lower().startswith("content-") or name.lower() == "mime-version":
            continue
        stand_in[name] = value
    stand_in["MIME-Version"] = "1.0"
    stand_in["X-Desk-Oversized"] = f"{size} bytes; limit {limit} bytes"
    note = (
        f"This mail is {size} bytes, over the {limit}-byte limit for incoming mail: "
        f"only its headers were stored. {where}"
    )
    stand_in.set_payload(note, charset="utf-8")
    return stand_in.as_bytes()
