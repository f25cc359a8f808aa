"""The words a call gets on the timeline, so a call an agent logs and one a voice
provider reports read alike."""

DIRECTIONS = ("inbound", "outbound")
OUTCOMES = ("answered", "missed", "voicemail", "busy", "failed")

_INBOUND_WORDS = {
    "answered": "Answered call",
    "missed": "Missed call",
    "voicemail": "Voicemail left",
    "busy": "Call while the line was busy",
    "failed": "Failed call",
}
_OUTBOUND_WORDS = {
    "answered": "Outbound call, answered",
    "missed": "Outbound call, not answered",
    "voicemail": "Outbound call, voicemail left",
    "busy": "Outbound call, line busy",
    "failed": "Outbound call failed",
}


def format_duration(seconds: int) -> str:
    """192 → "3 min 12 s"; 3725 → "1 h 2 min 5 s"."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{value} {unit}"
        for value, unit in ((hours, "h"), (minutes, "min"), (secs, "s"))
        if value
    ]
    return " ".join(parts) or "0 s"


def call_summary(
    *, direction: str, outcome: str, duration_seconds: int = 0, recording_url: str = ""
) -> str:
    """ "Missed call", "Answered call, 3 min 12 s", and the recording's link."""
    words = (_OUTBOUND_WORDS if direction == "outbound" else _INBOUND_WORDS).get(
        outcome, f"Call ({outcome})"
    )
    if duration_seconds and duration_seconds > 0:
        words += f", {format_duration(duration_seconds)}"
    if recording_url:
        words += f"\nRecording: {recording_url}"
    return words
