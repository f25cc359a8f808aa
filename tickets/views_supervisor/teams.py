"""Team load, a team's queue, and handing tickets to another team or agent."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from supportdesk.permissions import supervisor_required
from tickets.actions.handover import do_hand_over_ticket
from tickets.actions.routing import RoutingError
from tickets.actions.tickets import TicketActionError
from tickets.models import Agent, Team, TeamMembership, Ticket
from tickets.supervision import team_loads, team_queue
from tickets.views_supervisor import is_htmx

QUEUE_PAGE_SIZE = 50


@supervisor_required
def team_list(request: HttpRequest) -> HttpResponse:
    template = (
        "supervisor/partials/team_loads.html"
        if is_htmx(request)
        else "supervisor/teams.html"
    )
    return render(request, template, {"loads": team_loads()})


def _targets() -> list[tuple[str, list[tuple[str, str]]]]:
    """The choices of the hand-over form: each team, then each of its agents."""
    members = (
        TeamMembership.objects.filter(agent__is_active=True)
        .select_related("agent", "team")
        .order_by("team__name", "agent__username")
    )
    groups: dict[int, tuple[str, list[tuple[str, str]]]] = {}
    for team in Team.objects.order_by("name"):
        groups[team.pk] = (team.name, [(f"team:{team.pk}", f"{team.name} (team)")])
    for member in members:
        name = member.agent.get_full_name() or member.agent.username
        groups[member.team_id][1].append(
            (f"agent:{member.team_id}:{member.agent_id}", f"{name}, {member.team.name}")
        )
    return list(groups.values())


def _team_page(request, team: Team, *, error: str = "", status: int = 200):
    before = request.GET.get("before", "")
    tickets, next_before = team_queue(
        team=team,
        limit=QUEUE_PAGE_SIZE,
        before_id=int(before) if before.isdigit() else None,
    )
    loads = {load.team.pk: load for load in team_loads()}
    context = {
        "team": team,
        "load": loads[team.pk],
        "tickets": tickets,
        "next_before": next_before,
        "targets": _targets(),
        "error": error,
        "reason": request.POST.get("reason", ""),
        "selected": {int(pk) for pk in request.POST.getlist("ticket") if pk.isdigit()},
    }
    if is_htmx(request) and request.method == "GET":
        return render(request, "supervisor/partials/team_queue.html", context)
    return render(request, "supervisor/team.html", context, status=status)


@supervisor_required
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    return _team_page(request, get_object_or_404(Team, pk=team_id))


def _parse_target(value: str) -> tuple[Team, Agent | None] | None:
    kind, _, rest = value.partition(":")
    try:
        if kind == "team":
            return Team.objects.get(pk=int(rest)), None
        if kind == "agent":
            team_id, _, agent_id = rest.partition(":")
            member = TeamMembership.objects.select_related("team", "agent").get(
                team_id=int(team_id), agent_id=int(agent_id), agent__is_active=True
            )
            return member.team, member.agent
    except (ValueError, Team.DoesNotExist, TeamMembership.DoesNotExist):
        return None
    return None


@supervisor_required
@require_POST
def reassign(request: HttpRequest, team_id: int) -> HttpResponse:
    """Hand the chosen tickets over, one action call (and one RouteChange) each."""
    team = get_object_or_404(Team, pk=team_id)
    ids = sorted({int(pk) for pk in request.POST.getlist("ticket") if pk.isdigit()})
    target = _parse_target(request.POST.get("target", ""))
    reason = request.POST.get("reason", "").strip()
    tickets = list(Ticket.objects.filter(pk__in=ids).order_by("pk"))
    error = ""
    if not tickets:
        error = "Select at least one ticket."
    elif target is None:
        error = "Choose the team or agent to hand the tickets to."
    elif not reason and any(t.team_id != target[0].pk for t in tickets):
        error = "Moving a ticket to another team needs a reason."
    if error:
        return _team_page(request, team, error=error, status=400)
    to_team, assignee = target
    moved, failed = 0, []
    for ticket in tickets:
        try:
            do_hand_over_ticket(
                ticket=ticket,
                team=to_team,
                assignee=assignee,
                actor=request.user,
                reason=reason,
            )
            moved += 1
        except (RoutingError, TicketActionError) as exc:
            failed.append(f"#{ticket.pk}: {exc}")
    whom = (assignee.get_full_name() or assignee.username) if assignee else to_team.name
    if moved:
        messages.success(request, f"Handed {moved} ticket(s) to {whom}.")
    for line in failed:
        messages.error(request, line)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    return redirect(back) if back else redirect("supervisor-team", team_id=team.pk)
