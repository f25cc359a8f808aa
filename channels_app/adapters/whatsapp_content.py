"""What each kind of WhatsApp message says, as text, files and metadata for the
timeline. The adapter in whatsapp.py wraps the result into an InboundMessage."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from channels_app.adapters.meta import as_dict, as_list, describe_quoted, quoted_message
from supportdesk.json_input import MalformedJSONError, parse_json
from tickets.inbound import IdentityClaim, InboundAttachment

CHANNEL = "whatsapp"
MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")


@dataclass
class Content:
    text: str = ""
    attachments: list[InboundAttachment] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Reactions and system notices: shown where they belong, never a new ticket.
    automated: bool = False
    replies_to: tuple[str, ...] = ()
    extra_identities: tuple[IdentityClaim, ...] = ()


# Fetches one media object: (attachment, None) or (None, a note saying why not).
MediaFetcher = Callable[[dict, str], tuple[InboundAttachment | None, str | None]]


def _text(message: dict, fetch: MediaFetcher) -> Content:
    return Content(text=str(as_dict(message.get("text")).get("body") or ""))


def _media_label(kind: str, media: dict) -> str:
    if kind == "audio" and media.get("voice"):
        return "voice message"
    if kind == "sticker" and media.get("animated"):
        return "animated sticker"
    if kind == "document" and media.get("filename"):
        return f"document: {media['filename']}"
    return kind


def _media(message: dict, fetch: MediaFetcher) -> Content:
    kind = str(message.get("type"))
    media = as_dict(message.get(kind))
    caption = str(media.get("caption") or "")
    content = Content(
        text=caption or f"[{_media_label(kind, media)}]",
        metadata={
            "media": {
                key: media[key]
                for key in (
                    "id",
                    "mime_type",
                    "sha256",
                    "filename",
                    "voice",
                    "animated",
                )
                if key in media
            }
            | {"type": kind}
        },
    )
    attachment, note = fetch(media, kind)
    if attachment is not None:
        content.attachments.append(attachment)
    if note:
        content.notes.append(note)
    return content


def _location(message: dict, fetch: MediaFetcher) -> Content:
    place = as_dict(message.get("location"))
    latitude, longitude = place.get("latitude"), place.get("longitude")
    named = ", ".join(str(place[key]) for key in ("name", "address") if place.get(key))
    where = f"{latitude}, {longitude}"
    lines = [f"Location: {named} ({where})" if named else f"Location: {where}"]
    if place.get("url"):
        lines.append(str(place["url"]))
    return Content(
        text="\n".join(lines),
        metadata={
            "location": {
                key: place[key]
                for key in ("latitude", "longitude", "name", "address", "url")
                if key in place
            }
        },
    )


def _contact_line(card: dict) -> str:
    name = as_dict(card.get("name"))
    label = name.get("formatted_name") or " ".join(
        str(name[key]) for key in ("first_name", "last_name") if name.get(key)
    )
    reach = [
        f"{phone.get('phone')} ({phone.get('type')})"
        if phone.get("type")
        else str(phone.get("phone"))
        for phone in map(as_dict, as_list(card.get("phones")))
        if phone.get("phone")
    ]
    reach += [
        str(mail.get("email"))
        for mail in map(as_dict, as_list(card.get("emails")))
        if mail.get("email")
    ]
    return f"- {label or 'unnamed contact'}" + (
        f": {', '.join(reach)}" if reach else ""
    )


def _contacts(message: dict, fetch: MediaFetcher) -> Content:
    cards = [as_dict(card) for card in as_list(message.get("contacts"))]
    lines = ["Shared contacts:" if len(cards) != 1 else "Shared a contact:"]
    lines += [_contact_line(card) for card in cards]
    return Content(text="\n".join(lines), metadata={"contacts": cards})


def _reaction(message: dict, fetch: MediaFetcher) -> Content:
    reaction = as_dict(message.get("reaction"))
    target = str(reaction.get("message_id") or "")
    emoji = str(reaction.get("emoji") or "")
    quoted = quoted_message(CHANNEL, target) if target else {}
    about = describe_quoted(quoted)
    return Content(
        text=f"Reacted {emoji} to {about}"
        if emoji
        else f"Removed a reaction from {about}",
        metadata={"reaction": {"message_id": target, "emoji": emoji}, "quoted": quoted},
        automated=True,
        replies_to=(target,) if target else (),
    )


def _flow_response(reply: dict) -> Any:
    raw = reply.get("response_json")
    try:
        return parse_json(raw) if isinstance(raw, str) else raw
    except MalformedJSONError:
        # Kept as the text it came as: the message still lands.
        return raw


def _interactive(message: dict, fetch: MediaFetcher) -> Content:
    interactive = as_dict(message.get("interactive"))
    kind = str(interactive.get("type") or "")
    reply = as_dict(interactive.get(kind))
    if kind in ("button_reply", "list_reply"):
        lines = [str(reply.get("title") or "")]
        if reply.get("description"):
            lines.append(str(reply["description"]))
        return Content(
            text="\n".join(line for line in lines if line) or f"[{kind}]",
            metadata={"interactive": {"type": kind, **reply}},
        )
    if kind == "nfm_reply":
        return Content(
            text=str(reply.get("body") or "Sent a form."),
            metadata={
                "flow": {
                    "name": reply.get("name", ""),
                    "response": _flow_response(reply),
                }
            },
        )
    if kind == "call_permission_reply":
        answer = str(reply.get("response") or "")
        return Content(
            text=f"Call permission: {answer or 'answered'}",
            metadata={"call_permission": reply},
        )
    return _unshown(message, fetch)


def _button(message: dict, fetch: MediaFetcher) -> Content:
    button = as_dict(message.get("button"))
    return Content(
        text=str(button.get("text") or button.get("payload") or "[button]"),
        metadata={"button": button},
    )


def _order(message: dict, fetch: MediaFetcher) -> Content:
    order = as_dict(message.get("order"))
    lines = ["Order:"]
    for item in map(as_dict, as_list(order.get("product_items"))):
        lines.append(
            f"- {item.get('quantity', '?')} × {item.get('product_retailer_id', '?')}"
            f" at {item.get('item_price', '?')} {item.get('currency', '')}".rstrip()
        )
    if order.get("text"):
        lines.append(str(order["text"]))
    return Content(text="\n".join(lines), metadata={"order": order})


def _system(message: dict, fetch: MediaFetcher) -> Content:
    system = as_dict(message.get("system"))
    # A customer who changed number: the new one joins the same customer.
    new_number = str(system.get("wa_id") or system.get("customer") or "")
    return Content(
        text=str(system.get("body") or "WhatsApp system message"),
        metadata={"system": system, "identity": as_dict(message.get("identity"))},
        automated=True,
        extra_identities=(IdentityClaim(CHANNEL, new_number),) if new_number else (),
    )


def _unshown(message: dict, fetch: MediaFetcher) -> Content:
    """A message WhatsApp did not pass on, or of a kind the desk does not know:
    kept on the timeline, so the agent knows the customer wrote."""
    kind = str(message.get("type") or "unknown")
    inner = as_dict(message.get(kind)).get("type")
    errors = [as_dict(error) for error in as_list(message.get("errors"))]
    details = "; ".join(
        str(as_dict(error.get("error_data")).get("details") or error.get("title") or "")
        for error in errors
    ).strip("; ")
    label = f"{kind} ({inner})" if inner else kind
    text = f"[A WhatsApp message the desk cannot show: {label}"
    text += f". {details}]" if details else "]"
    return Content(text=text, metadata={"unshown_type": label})


RENDERERS: dict[str, Callable[[dict, MediaFetcher], Content]] = {
    "text": _text,
    **{kind: _media for kind in MEDIA_KINDS},
    "location": _location,
    "contacts": _contacts,
    "reaction": _reaction,
    "interactive": _interactive,
    "button": _button,
    "order": _order,
    "system": _system,
}


def render(message: dict, fetch: MediaFetcher) -> Content:
    """The timeline's view of one WhatsApp message, with what it answers."""
    renderer = RENDERERS.get(str(message.get("type")), _unshown)
    content = renderer(message, fetch)
    context = as_dict(message.get("context"))
    if context.get("id") and not content.replies_to:
        content.replies_to = (str(context["id"]),)
        content.metadata["quoted"] = quoted_message(CHANNEL, str(context["id"]))
    for flag in ("forwarded", "frequently_forwarded"):
        if context.get(flag):
            content.metadata[flag] = True
    if message.get("referral"):
        content.metadata["referral"] = as_dict(message["referral"])
    if message.get("errors"):
        content.metadata["errors"] = as_list(message["errors"])
    return content


def edited_text(edit: dict) -> str:
    """The new text of an edited message (a text body, or a media caption)."""
    inner = as_dict(edit.get("message"))
    kind = str(inner.get("type") or "text")
    if kind == "text":
        return str(as_dict(inner.get("text")).get("body") or "")
    return str(as_dict(inner.get(kind)).get("caption") or "")
