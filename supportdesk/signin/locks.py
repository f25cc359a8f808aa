"""Supervisors' page of locked sign-ins, with an unlock for each account and
address. django-axes' admin lists the same records for admins."""

from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib import messages
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from supportdesk.permissions import supervisor_required


def _locked(field: str) -> list[dict]:
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return list(
        AccessAttempt.objects.filter(attempt_time__gte=since)
        .exclude(**{f"{field}__isnull": True})
        .values(field)
        .annotate(failures=Sum("failures_since_start"), latest=Max("attempt_time"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("-latest")
    )


def locked_usernames() -> set[str]:
    return {row["username"] for row in _locked("username")}


@supervisor_required
def sign_in_locks(request: HttpRequest) -> HttpResponse:
    context = {
        "accounts": _locked("username"),
        "addresses": _locked("ip_address"),
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "limit": settings.AXES_FAILURE_LIMIT,
    }
    return render(request, "supervisor/sign_in_locks.html", context)


@supervisor_required
@require_POST
def unlock(request: HttpRequest) -> HttpResponse:
    """Forgets the failures of an account or of an address, which unlocks it."""
    username = request.POST.get("username", "").strip()
    address = request.POST.get("ip_address", "").strip()
    if username:
        reset(username=username)
        messages.success(request, f"Sign-in unlocked for {username}.")
    elif address:
        reset(ip=address)
        messages.success(request, f"Sign-in unlocked for the address {address}.")
    back = request.POST.get("back", "")
    # Back to the supervisors' page the button was on, never elsewhere.
    return redirect(back if back.startswith("/supervisor/") else "sign-in-locks")
