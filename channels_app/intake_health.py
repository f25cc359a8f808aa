"""How the intake is doing: records waiting, stuck and failed, for the health
endpoint and the supervisors' alert, and which of them a supervisor reviews.

A record is waiting while it is `received` or `processing`; it is stuck when it
has been waiting longer than INBOUND_STUCK_SECONDS since it arrived (the sweep
takes a waiting record within seconds, so one this old means the workers are
down or failing on it). A failed record stays failed until someone replays it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from channels_app.models import InboundRecord
from tickets.models import Agent

# Who asks: a signed-in agent, or the anonymous user of a request that is not.
Viewer = Agent | AnonymousUser
# How much of an error the supervisors' list and messages show.
ERROR_SHOWN_CHARS = 160

Status = InboundRecord.Status
WAITING = (Status.RECEIVED, Status.PROCESSING)


@dataclass(frozen=True)
class IntakeHealth:
    waiting: int
    stuck: int
    failed: int
    # Since the oldest stuck record arrived; None when nothing is stuck.
    oldest_stuck_seconds: float | None
    stuck_after_seconds: int

    @property
    def alerting(self) -> bool:
        return bool(self.stuck or self.failed)

    def as_json(self) -> dict:
        return {
            "status": "alert" if self.alerting else "ok",
            "waiting": self.waiting,
            "stuck": self.stuck,
            "failed": self.failed,
            "oldest_stuck_seconds": self.oldest_stuck_seconds,
            "stuck_after_seconds": self.stuck_after_seconds,
        }


def _stuck_since(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.INBOUND_STUCK_SECONDS)


def _stuck(now: datetime) -> Q:
    return Q(status__in=WAITING, received_at__lt=_stuck_since(now))


def intake_health() -> IntakeHealth:
    """The counts, in one query that reads only waiting and failed records (the
    partial index of waiting records and the index on status find them)."""
    now = timezone.now()
    counts = InboundRecord.objects.filter(
        status__in=[*WAITING, Status.FAILED]
    ).aggregate(
        waiting=Count("pk", filter=Q(status__in=WAITING)),
        stuck=Count("pk", filter=_stuck(now)),
        failed=Count("pk", filter=Q(status=Status.FAILED)),
        oldest_stuck=Min("received_at", filter=_stuck(now)),
    )
    oldest = counts["oldest_stuck"]
    return IntakeHealth(
        waiting=counts["waiting"],
        stuck=counts["stuck"],
        failed=counts["failed"],
        oldest_stuck_seconds=None
        if oldest is None
        else round((now - oldest).total_seconds(), 1),
        stuck_after_seconds=settings.INBOUND_STUCK_SECONDS,
    )


def intake_health_for(agent: Viewer) -> IntakeHealth | None:
    """The counts for the supervisors' alert; None for anyone else."""
    if not _reviews_intake(agent):
        return None
    return intake_health()


def records_to_review_for(agent: Viewer) -> QuerySet[InboundRecord]:
    """Stuck and failed records, oldest first, without their payloads: every
    record for a supervisor, none for anyone else. The review page and its
    replay button both read through this."""
    if not _reviews_intake(agent):
        return InboundRecord.objects.none()
    return (
        InboundRecord.objects.filter(_stuck(timezone.now()) | Q(status=Status.FAILED))
        .defer("payload", "event_ids")
        .order_by("received_at", "pk")
    )


def _reviews_intake(agent: Viewer) -> bool:
    # The same people as supportdesk.permissions.supervisor_required lets in.
    return isinstance(agent, Agent) and agent.is_active and agent.is_supervisor


def short_error(error: str) -> str:
    """The first line of a record's error, cut to a table cell's length."""
    lines = error.strip().splitlines()
    first_line = lines[0] if lines else ""
    if len(first_line) > ERROR_SHOWN_CHARS:
        return first_line[: ERROR_SHOWN_CHARS - 1] + "…"
    return first_line
