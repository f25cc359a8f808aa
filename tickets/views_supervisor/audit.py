"""The audit of route changes: who moved which ticket, from where to where, and why."""

from datetime import datetime, timedelta

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from supportdesk.permissions import supervisor_required
from tickets.models import Agent, Team
from tickets.supervision import InvalidCursorError, RouteChangeFilter, route_changes
from tickets.views_supervisor import is_htmx

AUDIT_PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label="Any team",
        help_text="Moved from or to this team.",
    )
    actor = forms.ModelChoiceField(
        queryset=Agent.objects.order_by("username"),
        required=False,
        empty_label="Anyone (rules too)",
    )
    since = forms.DateTimeField(
        required=False,
        label="From",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = forms.DateTimeField(
        required=False,
        label="Until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    ticket = forms.IntegerField(required=False, min_value=1)

    def filters(self) -> RouteChangeFilter:
        data = self.cleaned_data
        return RouteChangeFilter(
            team_id=data["team"].pk if data["team"] else None,
            actor_id=data["actor"].pk if data["actor"] else None,
            ticket_id=data["ticket"],
            since=data["since"],
            until=_end_of(data["until"]),
        )


def _end_of(moment: datetime | None) -> datetime | None:
    """The form's times are to the minute: "until 14:30" includes 14:30:59."""
    return None if moment is None else moment + timedelta(minutes=1)


@supervisor_required
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "supervisor/audit.html",
            {"form": form, "changes": [], "next_cursor": None},
            status=400,
        )
    filters = form.filters() if form.is_bound else RouteChangeFilter()
    try:
        changes, next_cursor = route_changes(
            filters=filters, limit=AUDIT_PAGE_SIZE, cursor=request.GET.get("cursor")
        )
    except InvalidCursorError:
        raise Http404("No such page") from None
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "form": form,
        "changes": changes,
        "next_cursor": next_cursor,
        "query": query.urlencode(),
        "ticket_id": filters.ticket_id,
    }
    if is_htmx(request) and request.GET.get("cursor"):
        return render(request, "supervisor/partials/audit_rows.html", context)
    return render(request, "supervisor/audit.html", context)
