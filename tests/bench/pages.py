"""Server time of the agent's queue page and the heavy customer's ticket page.

Each page is asked for through django.test.Client, logged in as an agent of the
team that owns the most tickets of the seeded data set (for the ticket page: of
the team owning the ticket) and as a supervisor, after a warm-up; the time is the
whole request in the process (URL resolution, views, templates, SQL).
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.test import Client
from django.urls import reverse

from tests.bench.report import Report
from tests.bench.timeline import PageLatency, bench_supervisor, measure_page
from tickets.models import Agent, Team, Ticket

SEARCH_TERM = "refund"
SEARCH_CHANNEL = "email"
P95_TARGET_MS = 150.0


class PagesBenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class PagesResult:
    team: str
    agent: str
    ticket_id: int
    ticket_team: str
    pages: list[PageLatency]


def busiest_team(*, seeded_tickets: int) -> Team:
    """The team owning the most seeded tickets (ids 1 to `seeded_tickets`).

    The tickets earlier runs opened are left out: they land mostly on the
    fallback team, which would otherwise become the busiest after a few runs and
    change whose queue is measured, to one where the searched word never occurs.
    """
    seeded = Count("tickets", filter=Q(tickets__pk__lte=seeded_tickets))
    team = Team.objects.annotate(owned=seeded).order_by("-owned", "pk").first()
    if team is None:
        raise PagesBenchError("the bench data set has no teams")
    return team


def team_agent(team: Team) -> Agent:
    agent = team.agents.filter(is_active=True).order_by("username").first()
    if agent is None:
        raise PagesBenchError(f"team {team.slug} has no agent")
    return agent


def heavy_ticket(customer_id: int) -> Ticket:
    """The heavy customer's newest ticket that a team owns."""
    ticket = (
        Ticket.objects.filter(customer_id=customer_id, team__isnull=False)
        .select_related("team")
        .order_by("-id")
        .first()
    )
    if ticket is None:
        raise PagesBenchError(f"customer {customer_id} has no routed ticket")
    return ticket


def measure_pages(
    *, customer_id: int, requests: int, seeded_tickets: int
) -> PagesResult:
    """The queue as an agent of the busiest team and as a supervisor, plain and
    searched; the ticket page as an agent of its team and as a supervisor."""
    team = busiest_team(seeded_tickets=seeded_tickets)
    agent = team_agent(team)
    supervisor = bench_supervisor()
    ticket = heavy_ticket(customer_id)
    queue = reverse("queue")
    searched = f"{queue}?{urlencode({'q': SEARCH_TERM, 'channel': SEARCH_CHANNEL})}"
    results = []
    for who, viewer in (("agent", agent), ("supervisor", supervisor)):
        client = _client(viewer)
        results.append(
            measure_page(client, queue, label=f"queue ({who})", requests=requests)
        )
        results.append(
            measure_page(
                client,
                searched,
                label=f"queue q={SEARCH_TERM} channel={SEARCH_CHANNEL} ({who})",
                requests=requests,
            )
        )
    page = reverse("ticket", args=[ticket.pk])
    for who, viewer in (("agent", team_agent(ticket.team)), ("supervisor", supervisor)):
        results.append(
            measure_page(
                _client(viewer),
                page,
                label=f"ticket page, 10k-event customer ({who})",
                requests=requests,
            )
        )
    return PagesResult(
        team=team.slug,
        agent=agent.username,
        ticket_id=ticket.pk,
        ticket_team=ticket.team.slug,
        pages=results,
    )


def _client(viewer: Agent) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


def add_figures(report: Report, result: PagesResult) -> None:
    report.context["pages"] = {
        "team": result.team,
        "agent": result.agent,
        "ticket_id": result.ticket_id,
        "ticket_team": result.ticket_team,
        "search": {"q": SEARCH_TERM, "channel": SEARCH_CHANNEL},
    }
    target = f"< {P95_TARGET_MS:.0f} ms"
    for page in result.pages:
        report.add(
            f"{page.label}: p50 / p95",
            f"{page.p50_ms:.1f} / {page.p95_ms:.1f} ms",
            target,
            page.p95_ms < P95_TARGET_MS,
            number=round(page.p95_ms, 2),
        )
        report.add(
            f"{page.label}: SQL queries",
            f"{page.queries}",
            number=page.queries,
        )
