"""Twilio Voice: signed status callbacks put calls on the caller's timeline.

Point the number's (or the outbound call's) status callback, and the recording
status callback, at /webhooks/twilio-voice/<inbox-slug>/. The call's CallSid is
its external id, so any number of callbacks for one call make one call event; a
recording reported later is added to that event's metadata and text.

Inbox config: account_sid. Inbox secret: auth_token.
"""

from datetime import datetime
from email.utils import parsedate_to_datetime

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict

from channels_app.adapters.base import PHONE_IDENTITY, InboundItem
from channels_app.adapters.twilio import TwilioWebhookAdapter, form_fields
from channels_app.models import Inbox
from tickets.calls import call_summary
from tickets.inbound import (
    CallRecording,
    IdentityClaim,
    InboundError,
    InboundMessage,
    UnsupportedEventError,
)
from tickets.outbound import DeliveryRefusedError, OutboundMessage

# Final call statuses and what they mean for the caller.
_OUTCOMES = {
    "completed": "answered",
    "no-answer": "missed",
    "canceled": "missed",
    "busy": "busy",
    "failed": "failed",
}
# Statuses of a call still going on: the final callback tells the story.
_IN_PROGRESS = frozenset({"queued", "initiated", "ringing", "in-progress"})


def _seconds(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


class TwilioVoiceAdapter(TwilioWebhookAdapter):
    key = "twilio-voice"
    label = "Voice (Twilio)"
    channel = "phone"
    channel_label = "Phone"
    identity_kinds = (PHONE_IDENTITY,)
    offers_replies = False
    config_fields = ("account_sid",)

    def delivery_id(self, request: HttpRequest, body: bytes) -> str:
        try:
            fields = form_fields(body)
        except InboundError:
            return ""
        call = fields.get("CallSid") or ""
        if not call:
            return ""
        status = fields.get("CallStatus") or ""
        recording = fields.get("RecordingSid") or ""
        if status:
            return ":".join(filter(None, [call, status, recording]))
        if recording:
            state = fields.get("RecordingStatus") or ""
            return ":".join(filter(None, [call, "recording", recording, state]))
        return ""

    def parse(self, payload: bytes, *, inbox: Inbox | None = None) -> list[InboundItem]:
        fields = form_fields(payload)
        call = fields.get("CallSid") or ""
        if not call:
            raise InboundError("the request names no CallSid")
        status = (fields.get("CallStatus") or "").lower()
        if status:
            if status in _IN_PROGRESS:
                return []
            if status not in _OUTCOMES:
                raise UnsupportedEventError(f"Twilio call status {status[:40]!r}")
            return self._call(fields, call, _OUTCOMES[status])
        if fields.get("RecordingUrl"):
            return self._recording(fields, call)
        raise UnsupportedEventError(
            "a Twilio callback with no call or recording status"
        )

    def _call(
        self, fields: MultiValueDict, call: str, outcome: str
    ) -> list[InboundItem]:
        direction = (fields.get("Direction") or "inbound").lower()
        direction = "outbound" if direction.startswith("outbound") else "inbound"
        # The customer is the caller of an inbound call and the callee otherwise.
        number = fields.get("From" if direction == "inbound" else "To") or ""
        if not number:
            raise InboundError(f"the {direction} call names no customer number")
        duration = _seconds(fields.get("CallDuration"))
        recording_url = fields.get("RecordingUrl") or ""
        message = InboundMessage(
            channel="phone",
            external_id=call,
            identities=(IdentityClaim("phone", number),),
            event_kind="call",
            subject=(
                f"Call from {number}" if direction == "inbound" else f"Call to {number}"
            ),
            text=call_summary(
                direction=direction,
                outcome=outcome,
                duration_seconds=duration,
                recording_url=recording_url,
            ),
            occurred_at=_when(fields.get("Timestamp")),
            metadata={
                "source": "twilio",
                "call_sid": call,
                "direction": direction,
                "outcome": outcome,
                "duration_seconds": duration,
                "recording_url": recording_url,
                "from": fields.get("From") or "",
                "to": fields.get("To") or "",
            },
        )
        if not recording_url:
            return [message]
        # When the call is already on the timeline without it, the recording is
        # added there.
        return [message, self._recording_of(fields, call)]

    def _recording(self, fields: MultiValueDict, call: str) -> list[InboundItem]:
        state = (fields.get("RecordingStatus") or "completed").lower()
        if state != "completed":
            # in-progress, absent (silence) or failed: nothing to listen to.
            return []
        return [self._recording_of(fields, call)]

    def _recording_of(self, fields: MultiValueDict, call: str) -> CallRecording:
        duration = fields.get("RecordingDuration")
        return CallRecording(
            channel="phone",
            external_id=call,
            recording_url=fields.get("RecordingUrl") or "",
            recording_id=fields.get("RecordingSid") or "",
            duration_seconds=_seconds(duration) if duration else None,
        )

    def send(self, message: OutboundMessage, *, inbox: Inbox | None = None) -> str:
        raise DeliveryRefusedError(
            "a phone call cannot be sent: call the customer and log the call, "
            "or reply by SMS"
        )
