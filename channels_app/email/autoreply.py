"""Mail no person wrote: auto-replies, bounces and other reports.

Such a mail joins the ticket it answers as a system event; it never opens a ticket
and never sets off an acknowledgement, so two robots never talk in a loop.
"""

from email.message import Message

from channels_app.email.headers import Headers, message_ids
from channels_app.email.mime import Body
from customers.identities import InvalidIdentityError, normalise_email

_AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
# A header present with one of these values says "not automated".
_DENIED = ("no", "false", "0")
_BULK_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
_MACHINE_SENDERS = ("mailer-daemon", "mail-daemon", "maildaemon", "postmaster")


def valid_address(value: str) -> str:
    """The address lower-cased when it is a usable email address, else ""."""
    try:
        return normalise_email(value) if value and "@" in value else ""
    except InvalidIdentityError:
        return ""


def is_machine_sender(address: str) -> bool:
    return address.partition("@")[0].strip().lower() in _MACHINE_SENDERS


def automated_reason(headers: Headers, *, ctype: str, sender: str) -> str:
    """Why the mail counts as automated ("" when a person wrote it). `sender` is
    the From address as written, valid or not."""
    submitted = headers.raw("Auto-Submitted").split(";", 1)[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    for name in _AUTO_REPLY_HEADERS:
        value = headers.raw(name).strip()
        if name in headers and value.lower() not in _DENIED:
            return f"{name}: {value[:60] or '(empty)'}"
    precedence = headers.raw("Precedence").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if ctype == "multipart/report":
        return "a delivery or disposition report (multipart/report)"
    if "X-Failed-Recipients" in headers:
        return "a bounce (X-Failed-Recipients)"
    if is_machine_sender(sender):
        return f"sent by {sender}"
    if "Return-Path" in headers and headers.raw("Return-Path").strip() in ("<>", ""):
        # Only reports and auto-replies go out with a null envelope sender.
        return "sent with a null envelope sender (Return-Path: <>)"
    return ""


def is_bounce(headers: Headers, *, ctype: str, report_type: str, sender: str) -> bool:
    """A mail server's report that a mail could not be delivered."""
    return (
        (ctype == "multipart/report" and report_type == "delivery-status")
        or "X-Failed-Recipients" in headers
        or is_machine_sender(sender)
    )


def _field(fields: Message, name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""


def bounced_recipients(headers: Headers, body: Body) -> list[str]:
    """The addresses a bounce says could not be reached, most specific first."""
    found = []
    for value in headers.all_raw("X-Failed-Recipients"):
        found += value.split(",")
    for fields in body.report_fields:
        for name in ("Original-Recipient", "Final-Recipient"):
            # "rfc822; ana@example.com"
            found.append(_field(fields, name).rpartition(";")[2])
    if not found:
        for carried in body.carried:
            found += [address for _, address in Headers(carried).addresses("To")]
    valid = (valid_address(value.strip().strip("<>")) for value in found)
    return list(dict.fromkeys(address for address in valid if address))


def answered_ids(body: Body) -> list[str]:
    """Message ids of the mails a report is about: the mail it carries back, or the
    one its disposition report names."""
    ids = []
    for carried in body.carried:
        ids += message_ids(Headers(carried).raw("Message-ID"))
    for fields in body.report_fields:
        ids += message_ids(_field(fields, "Original-Message-ID"))
    return list(dict.fromkeys(ids))
