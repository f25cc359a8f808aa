"""WhatsApp Cloud API: webhooks in (messages, echoes, statuses), replies out.

Inbox config: phone_number_id, waba_id. Secrets: app_secret, access_token,
verify_token.

A webhook may mix changes: what the desk handles is processed, what it does not
(template, account, call, flow or preference updates...) is named in the
metadata of the messages it came with. A webhook with nothing the desk handles
raises UnsupportedEventError, so its record is kept and marked unsupported.
"""

from channels_app.adapters.base import PHONE_IDENTITY, InboundItem
from channels_app.adapters.meta import (
    MetaWebhookAdapter,
    ParsedBatch,
    as_dict,
    as_list,
    from_timestamp,
    load_document,
    raise_for_send,
)
from channels_app.adapters.whatsapp_content import (
    Content,
    MediaFetcher,
    edited_text,
    render,
)
from channels_app.meta_graph import (
    GraphClient,
    GraphError,
    MediaRefusedError,
    media_file_name,
)
from channels_app.models import Inbox
from customers.identities import InvalidIdentityError, normalise_identity
from supportdesk.registry import PHONE_FORM, IdentityKindSpec
from tickets.inbound import (
    DeliveryUpdate,
    IdentityClaim,
    InboundAttachment,
    InboundError,
    InboundMessage,
    MessageRevision,
    UnsupportedEventError,
)
from tickets.outbound import DeliveryRefusedError, OutboundMessage
from tickets.selectors import stored_external_ids

CHANNEL = "whatsapp"
MAX_TEXT_CHARS = 4096
# WhatsApp's statuses and the desk's delivery states; "played" is a voice
# message listened to, which says at least as much as read.
STATUSES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "played": "read",
    "failed": "failed",
}


def _is_number(value: object) -> bool:
    try:
        normalise_identity(CHANNEL, str(value or ""))
    except InvalidIdentityError:
        return False
    return True


def _whatsapp_number(*candidates: object) -> str:
    """The first candidate that is a WhatsApp number: the message's own, else the
    wa_id of the contact the webhook names."""
    for candidate in candidates:
        if _is_number(candidate):
            return str(candidate)
    raise InboundError("the WhatsApp message names no valid sender number")


def _error_text(errors: object) -> str:
    parts = []
    for error in map(as_dict, as_list(errors)):
        title = str(error.get("title") or error.get("message") or "error")
        details = str(as_dict(error.get("error_data")).get("details") or "")
        text = f"{title}: {details}" if details and details != title else title
        if error.get("code"):
            text += f" (code {error['code']})"
        parts.append(text)
    return "; ".join(parts)


def _revision(message: dict, kind: str) -> MessageRevision:
    change = as_dict(message.get(kind))
    original = str(change.get("original_message_id") or "")
    if not original:
        raise InboundError(f"a WhatsApp {kind} names no original message")
    return MessageRevision(
        channel=CHANNEL,
        external_id=original,
        revision_id=str(message.get("id") or f"{kind}:{message.get('timestamp')}"),
        text=edited_text(change) if kind == "edit" else "",
        deleted=kind == "revoke",
        occurred_at=from_timestamp(message.get("timestamp")),
    )


_REVISIONS = ("edit", "revoke")


class WhatsAppAdapter(MetaWebhookAdapter):
    key = "whatsapp"
    label = "WhatsApp Cloud API"
    channel = CHANNEL
    channel_label = "WhatsApp"
    identity_kinds = (
        # WhatsApp ids are international numbers written without the plus.
        IdentityKindSpec(
            CHANNEL,
            "WhatsApp",
            form=PHONE_FORM,
            provider_number=True,
            also_a_phone=True,
        ),
        PHONE_IDENTITY,
    )
    # Not the number's phone identity: a number need not be on WhatsApp.
    recipient_kinds = (CHANNEL,)
    after_the_window = "only a template can be sent"
    secret_fields = ("app_secret", "verify_token", "access_token")
    config_fields = ("phone_number_id", "waba_id")

    # ------------------------------------------------------------------ in

    def parse(self, payload: bytes, *, inbox: Inbox | None = None) -> list[InboundItem]:
        document = load_document(payload)
        if document.get("object") != "whatsapp_business_account":
            raise UnsupportedEventError(
                f"WhatsApp webhook about {str(document.get('object'))[:60]!r}"
            )
        batch = ParsedBatch(source="WhatsApp", inbox=inbox)
        handlers = {
            "messages": self._messages_change,
            "smb_message_echoes": self._echoes_change,
        }
        for entry in map(as_dict, as_list(document.get("entry"))):
            for change in map(as_dict, as_list(entry.get("changes"))):
                name = str(change.get("field") or "unnamed")
                handler = handlers.get(name)
                if handler is None:
                    batch.skip(f"{name} updates")
                    continue
                handler(batch, as_dict(change.get("value")))
        return batch.result()

    def _messages_change(self, batch: ParsedBatch, value: dict) -> None:
        names = _profile_names(value)
        value_errors = as_list(value.get("errors"))
        messages = [as_dict(m) for m in as_list(value.get("messages"))]
        statuses = [as_dict(s) for s in as_list(value.get("statuses"))]
        if value_errors and not (messages or statuses):
            batch.skip(f"errors reported by WhatsApp: {_error_text(value_errors)}")
        for message in messages:
            if value_errors and not message.get("errors"):
                message = {**message, "errors": value_errors}
            kind = str(message.get("type") or "")
            if kind in _REVISIONS:
                batch.items.append(_revision(message, kind))
                continue
            sender = _whatsapp_number(message.get("from"), *names)
            content = self._content(message, batch.inbox)
            batch.items.append(
                _inbound(
                    message,
                    content,
                    sender=sender,
                    name=names.get(sender, ""),
                    business=as_dict(value.get("metadata")),
                )
            )
        for status in statuses:
            update = _delivery_update(status)
            if update is None:
                batch.skip(f"message status {str(status.get('status'))[:40]!r}")
            else:
                batch.items.append(update)

    def _echoes_change(self, batch: ParsedBatch, value: dict) -> None:
        """Messages the business sent from the WhatsApp Business app: shown on
        the customer's timeline as what the business said elsewhere."""
        names = _profile_names(value)
        for echo in map(as_dict, as_list(value.get("message_echoes"))):
            kind = str(echo.get("type") or "")
            if kind in _REVISIONS:
                batch.items.append(_revision(echo, kind))
                continue
            customer = _whatsapp_number(echo.get("to"), *names)
            content = render(echo, _not_fetched)
            content.text = f"Sent from the WhatsApp Business app: {content.text}"
            content.automated = True
            content.metadata["echo"] = True
            batch.items.append(
                _inbound(
                    echo,
                    content,
                    sender=customer,
                    name=names.get(customer, ""),
                    business=as_dict(value.get("metadata")),
                )
            )

    def _content(self, message: dict, inbox: Inbox | None) -> Content:
        wamid = str(message.get("id") or "")
        already = bool(stored_external_ids(channel=CHANNEL, external_ids=[wamid]))
        # A message already on the timeline is not fetched again: ingest keeps
        # the stored one.
        return render(message, _not_fetched if already else _media_fetcher(inbox))

    # ----------------------------------------------------------------- out

    def send(self, message: OutboundMessage, *, inbox: Inbox | None = None) -> str:
        inbox = self.inbox_for_sending(inbox)
        number_id = str(inbox.config.get("phone_number_id") or "")
        token = inbox.secret("access_token")
        if not number_id or not token:
            raise DeliveryRefusedError(
                f"the WhatsApp inbox {inbox.slug!r} needs a phone_number_id and an "
                "access_token"
            )
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.recipient.lstrip("+"),
            **(
                _template_body(message.template)
                if message.template
                else _text_body(message.text)
            ),
        }
        try:
            answer = GraphClient(token).post(f"{number_id}/messages", body)
        except GraphError as exc:
            raise_for_send(exc)
        sent = [as_dict(m).get("id") for m in as_list(answer.get("messages"))]
        if not sent or not sent[0]:
            # Accepted without an id: sending again could deliver it twice.
            raise DeliveryRefusedError("WhatsApp accepted the message without an id")
        return str(sent[0])


def _profile_names(value: dict) -> dict[str, str]:
    """Profile names by WhatsApp id, in the order the contacts came."""
    return {
        str(contact.get("wa_id")): str(
            as_dict(contact.get("profile")).get("name") or ""
        )
        for contact in map(as_dict, as_list(value.get("contacts")))
        if contact.get("wa_id")
    }


def _inbound(
    message: dict, content: Content, *, sender: str, name: str, business: dict
) -> InboundMessage:
    metadata = dict(content.metadata)
    if content.notes:
        metadata["notes"] = content.notes
    if business.get("display_phone_number"):
        metadata["business_number"] = business["display_phone_number"]
    return InboundMessage(
        channel=CHANNEL,
        external_id=str(message.get("id") or ""),
        identities=(
            IdentityClaim(CHANNEL, sender),
            *(claim for claim in content.extra_identities if _is_number(claim.value)),
        ),
        sender_name=name,
        text=content.text,
        occurred_at=from_timestamp(message.get("timestamp")),
        replies_to=content.replies_to,
        continues_open_conversation=True,
        automated=content.automated,
        attachments=tuple(content.attachments),
        metadata=metadata,
    )


def _delivery_update(status: dict) -> DeliveryUpdate | None:
    state = STATUSES.get(str(status.get("status") or "").lower())
    if state is None or not status.get("id"):
        return None
    return DeliveryUpdate(
        channel=CHANNEL,
        external_id=str(status["id"]),
        status=state,
        error=_error_text(status.get("errors")) if state == "failed" else "",
        occurred_at=from_timestamp(status.get("timestamp")),
    )


def _not_fetched(media: dict, kind: str) -> tuple[None, str]:
    return None, f"The {kind} was not downloaded."


def _media_fetcher(inbox: Inbox | None) -> MediaFetcher:
    def fetch(media: dict, kind: str) -> tuple[InboundAttachment | None, str | None]:
        media_id = str(media.get("id") or "")
        if not media_id:
            return None, f"The {kind} came without a media id: not downloaded."
        if not media_id.isdigit():
            # The id becomes a Graph path sent with the inbox's token.
            return None, f"The {kind} has a malformed media id: not downloaded."
        token = inbox.secret("access_token") if inbox is not None else ""
        if not token:
            raise InboundError("the WhatsApp inbox has no access token to fetch media")
        try:
            got = GraphClient(token).media(
                media_id, declared_type=str(media.get("mime_type") or "")
            )
        except MediaRefusedError as exc:
            return None, f"The {kind} (media {media_id}) was not downloaded: {exc}."
        except GraphError as exc:
            raise InboundError(f"media {media_id} could not be fetched: {exc}") from exc
        name = str(media.get("filename") or "") or media_file_name(
            stem=f"{kind}-{media_id}", content_type=got.content_type
        )
        attachment = InboundAttachment(
            name=name, content_type=got.content_type, content=got.content
        )
        return attachment, None

    return fetch


def _text_body(text: str) -> dict:
    if not text.strip():
        raise DeliveryRefusedError("a WhatsApp message needs some text")
    if len(text) > MAX_TEXT_CHARS:
        raise DeliveryRefusedError(
            f"a WhatsApp message holds at most {MAX_TEXT_CHARS} characters; "
            f"this one has {len(text)}"
        )
    return {"type": "text", "text": {"preview_url": False, "body": text}}


def _template_body(template: dict) -> dict:
    """A template message: name, language and either the body's parameters or
    the components as WhatsApp takes them."""
    components = template.get("components")
    parameters = [str(p) for p in template.get("parameters") or ()]
    if components is None and parameters:
        components = [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": p} for p in parameters],
            }
        ]
    body = {
        "name": str(template.get("name") or ""),
        "language": {"code": str(template.get("language") or "")},
    }
    if components:
        body["components"] = components
    return {"type": "template", "template": body}
