"""The intake's health: a JSON endpoint for uptime checkers, and the supervisors'
page of stuck and failed records with a replay button for each."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from channels_app.ingest import process_inbound
from channels_app.intake_health import (
    intake_health,
    intake_health_for,
    records_to_review_for,
    short_error,
)
from channels_app.models import InboundRecord
from supportdesk.outage import RETRY_AFTER_SECONDS, is_database_outage
from supportdesk.permissions import supervisor_required

REVIEW_PAGE_SIZE = 50

Status = InboundRecord.Status


@never_cache
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """Counts only, for anyone: 200 when all is well, 503 while records are
    stuck or failed (so an uptime checker alerts), 503 with Retry-After when the
    database is out of reach."""
    try:
        state = intake_health()
    except DatabaseError as exc:
        if not is_database_outage(exc):
            raise
        response = JsonResponse(
            {
                "status": "unavailable",
                "detail": "The desk cannot reach its database.",
            },
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return JsonResponse(state.as_json(), status=503 if state.alerting else 200)


@supervisor_required
def review(request: HttpRequest) -> HttpResponse:
    records = records_to_review_for(request.user)
    page = Paginator(records, REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "supervisor/intake.html",
        {"health": intake_health_for(request.user), "page": page},
    )


@supervisor_required
@require_POST
def replay(request: HttpRequest, record_id: int) -> HttpResponse:
    """Process a stuck or failed record again, now, through the intake's own
    path; the message says how it went."""
    if records_to_review_for(request.user).filter(pk=record_id).exists():
        level, text = _outcome(process_inbound(record_id, replay=True))
    else:
        # Processed meanwhile (a second click, another supervisor, the sweep).
        level, text = messages.INFO, f"Record #{record_id} needs no replay now."
    messages.add_message(request, level, text)
    back = reverse("supervisor-intake")
    page = request.POST.get("page", "")
    return redirect(f"{back}?page={page}" if page.isdigit() else back)


def _outcome(record: InboundRecord) -> tuple[int, str]:
    name, error = f"Record #{record.pk}", short_error(record.error)
    if record.status == Status.PROCESSED:
        return messages.SUCCESS, f"{name} was processed."
    if record.status == Status.PROCESSING:
        return (
            messages.INFO,
            f"{name} is in a worker's hands just now; look again in a minute.",
        )
    if record.status == Status.RECEIVED:
        return (
            messages.WARNING,
            f"{name} could not be processed now and waits for another try: {error}",
        )
    if record.status == Status.UNSUPPORTED:
        return (
            messages.WARNING,
            f"{name} is of a kind the desk does not handle: {error}",
        )
    return messages.ERROR, f"{name} failed again: {error}"
