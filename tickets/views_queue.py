"""The agent's queue: a full page, the rows partial htmx swaps in, and one row."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from supportdesk import registry
from tickets.models import Team, Ticket, TicketStatus
from tickets.selectors import (
    InvalidQueueCursorError,
    QueueFilters,
    queue_row_for_agent,
    sees_every_team,
    ticket_list_for_agent,
)

SEARCH_MAX_CHARS = 200


def filters_from(request: HttpRequest) -> QueueFilters:
    """The queue's filters from a query string; unknown values are ignored."""
    get = request.GET
    status = get.get("status", "")
    if status not in ("", "all", *TicketStatus.values):
        status = ""
    team = get.get("team", "")
    assignee = get.get("assignee", "")
    channel = get.get("channel", "")
    return QueueFilters(
        status=status,
        channel=channel if channel in registry.message_channels() else "",
        priority=(
            get.get("priority", "")
            if get.get("priority") in Ticket.Priority.values
            else ""
        ),
        team=int(team) if team.isdigit() else None,
        assignee=assignee if assignee in ("me", "none") or assignee.isdigit() else "",
        search=get.get("q", "")[:SEARCH_MAX_CHARS],
    )


def _is_partial(request: HttpRequest) -> bool:
    # A history restore asks for the whole page again.
    return bool(
        request.headers.get("HX-Request")
        and not request.headers.get("HX-History-Restore-Request")
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Every desk user starts the day at their queue."""
    return redirect("queue")


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request)
    try:
        page = ticket_list_for_agent(
            agent=request.user, filters=filters, cursor=request.GET.get("cursor")
        )
    except InvalidQueueCursorError:
        raise Http404("No such page of the queue") from None
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {"page": page, "filters": filters, "query": query.urlencode()}
    if _is_partial(request):
        return render(request, "tickets/queue/rows.html", context)
    teams = Team.objects.all()
    if not sees_every_team(request.user):
        teams = teams.filter(agents=request.user)
    context.update(
        teams=list(teams),
        statuses=TicketStatus.choices,
        channels=registry.message_channel_choices(),
        priorities=Ticket.Priority.choices,
    )
    return render(request, "tickets/queue/page.html", context)


@login_required
@require_GET
def queue_row(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """One row under the page's filters; 204 when the ticket is not in that queue
    (any more), so the page drops the row."""
    ticket = queue_row_for_agent(
        agent=request.user, ticket_id=ticket_id, filters=filters_from(request)
    )
    if ticket is None:
        return HttpResponse(status=204)
    return render(request, "tickets/queue/row.html", {"ticket": ticket})
