"""Messenger and Instagram messaging: webhooks in, replies out through the Send API.

Inbox config: page_id (for Instagram, the professional account's id). Secrets:
app_secret, page_access_token, verify_token.

Echoes (is_echo: a message the page sent) are of two sorts. The desk's own
replies carry a marker in the Send API's metadata and are skipped: the reply is
already on the timeline. Anything else the page sent (from the Page inbox, the
Instagram app or another tool) becomes a system event on the customer's
timeline, so the agent sees what the business said elsewhere; it never opens a
ticket.
"""

from collections.abc import Iterable
from typing import Any

from channels_app.adapters.base import InboundItem
from channels_app.adapters.meta import (
    MetaWebhookAdapter,
    ParsedBatch,
    as_dict,
    as_list,
    describe_quoted,
    from_timestamp,
    load_document,
    quoted_message,
    raise_for_send,
)
from channels_app.meta_graph import (
    GraphClient,
    GraphError,
    MediaRefusedError,
    download,
    media_file_name,
    media_url_allowed,
)
from channels_app.models import Inbox
from supportdesk.registry import IdentityKindSpec
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
from tickets.selectors import sent_reply_ids_up_to, stored_external_ids

# The Send API's metadata on the desk's replies, echoed back with them.
DESK_ECHO_PREFIX = "desk-event:"
FILE_ATTACHMENTS = ("image", "video", "audio", "file")
# Keys of a messaging event that say who, whom and when, not what.
_ENVELOPE = {"sender", "recipient", "timestamp"}


class MessengerAdapter(MetaWebhookAdapter):
    key = "messenger"
    label = "Messenger"
    channel = "messenger"
    identity_kinds = (IdentityKindSpec("messenger", "Messenger"),)
    secret_fields = ("app_secret", "verify_token", "page_access_token")
    config_fields = ("page_id",)
    platform = "Messenger"
    webhook_object = "page"
    max_text_chars = 2000
    # Whether the Send API takes (and echoes) the desk's marker.
    marks_replies = True

    # ------------------------------------------------------------------ in

    def parse(self, payload: bytes, *, inbox: Inbox | None = None) -> list[InboundItem]:
        document = load_document(payload)
        if document.get("object") != self.webhook_object:
            raise UnsupportedEventError(
                f"{self.platform} webhook about {str(document.get('object'))[:60]!r}"
            )
        batch = ParsedBatch(source=self.platform, inbox=inbox)
        for entry in map(as_dict, as_list(document.get("entry"))):
            for event in map(as_dict, as_list(entry.get("messaging"))):
                self._event(batch, event)
            for change in map(as_dict, as_list(entry.get("changes"))):
                batch.skip(f"{change.get('field') or 'unnamed'} changes")
            if entry.get("standby"):
                batch.skip("standby messages (another app owns the conversation)")
        return batch.result()

    def _event(self, batch: ParsedBatch, event: dict) -> None:
        handlers = {
            "message": self._message,
            "delivery": self._delivery,
            "read": self._read,
            "reaction": self._reaction,
            "postback": self._postback,
            "message_edit": self._edit,
        }
        for name, handler in handlers.items():
            if name in event:
                handler(batch, event, as_dict(event[name]))
                return
        kinds = sorted(set(event) - _ENVELOPE) or ["empty"]
        batch.skip(f"{'/'.join(kinds)} events")

    def _sender(self, event: dict, side: str = "sender") -> str:
        person = str(as_dict(event.get(side)).get("id") or "")
        if not person:
            raise InboundError(f"a {self.platform} event names no {side}")
        return person

    def _message(self, batch: ParsedBatch, event: dict, message: dict) -> None:
        mid = str(message.get("mid") or "")
        at = from_timestamp(event.get("timestamp"), milliseconds=True)
        if message.get("is_deleted"):
            batch.items.append(
                MessageRevision(
                    channel=self.channel,
                    external_id=mid,
                    revision_id=f"{mid}#deleted",
                    deleted=True,
                    occurred_at=at,
                )
            )
            return
        if message.get("is_echo"):
            self._echo(batch, event, message)
            return
        text, attachments, metadata = self._content(message)
        replies_to: tuple[str, ...] = ()
        reply_to = as_dict(message.get("reply_to"))
        if reply_to.get("mid"):
            replies_to = (str(reply_to["mid"]),)
            metadata["quoted"] = quoted_message(self.channel, replies_to[0])
        if reply_to.get("story"):
            metadata["story_reply"] = as_dict(reply_to["story"])
            text = text or "[replied to a story]"
        batch.items.append(
            self._inbound(
                event,
                external_id=mid,
                text=text,
                attachments=attachments,
                metadata=metadata,
                replies_to=replies_to,
            )
        )

    def _content(
        self, message: dict
    ) -> tuple[str, list[InboundAttachment], dict[str, Any]]:
        text = str(message.get("text") or "")
        metadata: dict[str, Any] = {}
        notes: list[str] = []
        attachments: list[InboundAttachment] = []
        labels: list[str] = []
        if message.get("is_unsupported"):
            text = text or f"[A message {self.platform} could not pass on to the desk]"
        if message.get("quick_reply"):
            metadata["quick_reply"] = as_dict(message["quick_reply"])
        if message.get("referral"):
            metadata["referral"] = as_dict(message["referral"])
        shared = []
        already = self._stored(str(message.get("mid") or ""))
        for number, item in enumerate(
            map(as_dict, as_list(message.get("attachments")))
        ):
            kind = str(item.get("type") or "attachment")
            url = str(as_dict(item.get("payload")).get("url") or "")
            labels.append(kind)
            if kind not in FILE_ATTACHMENTS or not url:
                shared.append(
                    {"type": kind, "url": url, **as_dict(item.get("payload"))}
                )
                notes.append(f"A {kind} was shared" + (f": {url}" if url else "."))
                continue
            if already:
                continue
            attachment = _fetch(url, kind=kind, stem=f"{kind}-{number + 1}")
            if isinstance(attachment, InboundAttachment):
                attachments.append(attachment)
            else:
                notes.append(attachment)
                shared.append({"type": kind, "url": url})
        if shared:
            metadata["shared"] = shared
        if notes:
            metadata["notes"] = notes
        if not text and labels:
            text = f"[{', '.join(labels)}]"
        return text, attachments, metadata

    def _echo(self, batch: ParsedBatch, event: dict, message: dict) -> None:
        marker = str(message.get("metadata") or "")
        if marker.startswith(DESK_ECHO_PREFIX):
            batch.handled_quietly = True
            return
        text, _, metadata = self._content({**message, "attachments": []})
        shared = [
            str(item.get("type") or "attachment")
            for item in map(as_dict, as_list(message.get("attachments")))
        ]
        said = text or (f"[{', '.join(shared)}]" if shared else "[a message]")
        metadata.update(echo=True, app_id=message.get("app_id"))
        batch.items.append(
            self._inbound(
                event,
                external_id=str(message.get("mid") or ""),
                text=f"Sent by the page outside the desk: {said}",
                metadata=metadata,
                automated=True,
                side="recipient",
            )
        )

    def _reaction(self, batch: ParsedBatch, event: dict, reaction: dict) -> None:
        target = str(reaction.get("mid") or "")
        emoji = str(reaction.get("emoji") or "")
        quoted = quoted_message(self.channel, target) if target else {}
        about = describe_quoted(quoted)
        removed = reaction.get("action") == "unreact" or not emoji
        text = (
            f"Removed a reaction from {about}"
            if removed
            else f"Reacted {emoji} to {about}"
        )
        sender = self._sender(event)
        batch.items.append(
            self._inbound(
                event,
                external_id=f"reaction:{target}:{sender}:{event.get('timestamp')}",
                text=text,
                automated=True,
                replies_to=(target,) if target else (),
                metadata={"reaction": reaction, "quoted": quoted},
            )
        )

    def _postback(self, batch: ParsedBatch, event: dict, postback: dict) -> None:
        sender = self._sender(event)
        batch.items.append(
            self._inbound(
                event,
                external_id=str(
                    postback.get("mid") or f"postback:{sender}:{event.get('timestamp')}"
                ),
                text=str(
                    postback.get("title") or postback.get("payload") or "[button]"
                ),
                metadata={"postback": postback},
            )
        )

    def _edit(self, batch: ParsedBatch, event: dict, edit: dict) -> None:
        mid = str(edit.get("mid") or "")
        batch.items.append(
            MessageRevision(
                channel=self.channel,
                external_id=mid,
                revision_id=f"{mid}#edit{edit.get('num_edit', '')}",
                text=str(edit.get("text") or ""),
                occurred_at=from_timestamp(event.get("timestamp"), milliseconds=True),
            )
        )

    def _delivery(self, batch: ParsedBatch, event: dict, delivery: dict) -> None:
        self._receipts(batch, event, delivery, status="delivered")

    def _read(self, batch: ParsedBatch, event: dict, read: dict) -> None:
        self._receipts(batch, event, read, status="read")

    def _receipts(
        self, batch: ParsedBatch, event: dict, receipt: dict, *, status: str
    ) -> None:
        """Per-message ids when the platform gives them, else every reply to
        this person sent up to the watermark."""
        mids = [str(mid) for mid in as_list(receipt.get("mids")) if mid]
        if receipt.get("mid"):
            mids.append(str(receipt["mid"]))
        watermark = from_timestamp(receipt.get("watermark"), milliseconds=True)
        if not mids and watermark is not None:
            mids = sent_reply_ids_up_to(
                channel=self.channel,
                identity_kind=self.channel,
                identity_value=self._sender(event),
                until=watermark,
            )
        batch.handled_quietly = True
        at = from_timestamp(event.get("timestamp"), milliseconds=True) or watermark
        batch.items += [
            DeliveryUpdate(
                channel=self.channel, external_id=mid, status=status, occurred_at=at
            )
            for mid in dict.fromkeys(mids)
        ]

    def _stored(self, mid: str) -> bool:
        return bool(stored_external_ids(channel=self.channel, external_ids=[mid]))

    def _inbound(
        self,
        event: dict,
        *,
        external_id: str,
        text: str,
        metadata: dict[str, Any],
        attachments: Iterable[InboundAttachment] = (),
        replies_to: Iterable[str] = (),
        automated: bool = False,
        side: str = "sender",
    ) -> InboundMessage:
        if not external_id:
            raise InboundError(f"a {self.platform} message has no id")
        return InboundMessage(
            channel=self.channel,
            external_id=external_id,
            identities=(IdentityClaim(self.channel, self._sender(event, side)),),
            text=text,
            occurred_at=from_timestamp(event.get("timestamp"), milliseconds=True),
            replies_to=tuple(replies_to),
            continues_open_conversation=True,
            automated=automated,
            attachments=tuple(attachments),
            metadata=metadata,
        )

    # ----------------------------------------------------------------- out

    def send(self, message: OutboundMessage, *, inbox: Inbox | None = None) -> str:
        if message.template:
            raise DeliveryRefusedError(f"{self.platform} has no message templates")
        inbox = self.inbox_for_sending(inbox)
        token = inbox.secret("page_access_token")
        if not token:
            raise DeliveryRefusedError(
                f"the {self.platform} inbox {inbox.slug!r} has no page_access_token"
            )
        text = message.text
        if not text.strip():
            raise DeliveryRefusedError(f"a {self.platform} message needs some text")
        if len(text) > self.max_text_chars:
            raise DeliveryRefusedError(
                f"a {self.platform} message holds at most {self.max_text_chars} "
                f"characters; this one has {len(text)}"
            )
        body: dict[str, Any] = {
            "recipient": {"id": message.recipient},
            "messaging_type": "RESPONSE",
            "message": {"text": text},
        }
        if self.marks_replies:
            body["message"]["metadata"] = f"{DESK_ECHO_PREFIX}{message.event_id}"
        sender = str(inbox.config.get("page_id") or "me")
        try:
            answer = GraphClient(token).post(f"{sender}/messages", body)
        except GraphError as exc:
            raise_for_send(exc)
        if not answer.get("message_id"):
            raise DeliveryRefusedError(
                f"{self.platform} accepted the message without an id"
            )
        return str(answer["message_id"])


class InstagramAdapter(MessengerAdapter):
    key = "instagram"
    label = "Instagram"
    channel = "instagram"
    identity_kinds = (IdentityKindSpec("instagram", "Instagram"),)
    platform = "Instagram"
    webhook_object = "instagram"
    max_text_chars = 1000
    # Instagram's Send API documents no metadata: its echoes of the desk's own
    # replies are recognised by their message id instead.
    marks_replies = False


def _fetch(url: str, *, kind: str, stem: str) -> InboundAttachment | str:
    """The attachment, or a note for media kept as a link only."""
    if not media_url_allowed(url):
        return f"The {kind} was not downloaded: not on Meta's media hosts. Link: {url}"
    try:
        got = download(url)
    except MediaRefusedError as exc:
        return f"The {kind} was not downloaded: {exc}. Link: {url}"
    except GraphError as exc:
        raise InboundError(
            f"the {kind} at {url[:200]} could not be fetched: {exc}"
        ) from exc
    name = media_file_name(stem=stem, content_type=got.content_type, url=url)
    return InboundAttachment(
        name=name, content_type=got.content_type, content=got.content
    )
