"""The supervisors' alert about the intake, shown at the top of their pages."""

from django import template
from django.template import Context

from channels_app.intake_health import IntakeHealth, intake_health_for, short_error

register = template.Library()


@register.inclusion_tag("supervisor/partials/intake_alert.html", takes_context=True)
def intake_alert(context: Context) -> dict:
    """Nothing unless the viewer is a supervisor and records are stuck or failed."""
    # The review page has counted already; other pages count here.
    health = context.get("health")
    request = context.get("request")
    if not isinstance(health, IntakeHealth):
        health = intake_health_for(request.user) if request is not None else None
    if health is None or not health.alerting:
        return {"alert": ""}
    return {"alert": alert_text(health)}


def alert_text(health: IntakeHealth) -> str:
    """ "3 messages waiting over 2 minutes · 5 failed"."""
    parts = []
    if health.stuck:
        noun = "message" if health.stuck == 1 else "messages"
        parts.append(
            f"{health.stuck} {noun} waiting over {duration(health.stuck_after_seconds)}"
        )
    if health.failed:
        parts.append(f"{health.failed} failed")
    return " · ".join(parts)


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds in the largest whole unit a glance needs: "2 minutes", "90 seconds"."""
    if seconds is None:
        return ""
    seconds = int(seconds)
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and (seconds % size == 0 or seconds >= 2 * size):
            count = seconds // size
            return f"{count} {name}{'' if count == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


register.filter("short_error", short_error)
