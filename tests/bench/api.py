"""The REST API over HTTP: the ticket list and the heavy customer's timeline.

daphne serves the desk in a subprocess (the webhook bench's web server) over the
bench data set, and threads here send GETs with an agent's and a supervisor's
token on kept-alive connections: one client alone, for the latency a caller sees,
then several at once, for the requests per second one server process answers.
The agent belongs to the team owning the most tickets (for the timeline: to the
team owning the heavy customer's newest ticket), as in the pages bench, and the
search is the pages bench's too.
"""

import http.client
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from rest_framework.test import APIClient

from supportdesk.api.tokens import do_issue_api_token
from supportdesk.models import ApiToken
from tests.bench import http_load
from tests.bench.pages import (
    SEARCH_CHANNEL,
    SEARCH_TERM,
    busiest_team,
    heavy_ticket,
    team_agent,
)
from tests.bench.processes import BenchWorkerError
from tests.bench.report import Report
from tests.bench.timeline import (
    bench_supervisor,
    counting_statements,
    deep_cursor,
)
from tests.bench.webhook import BenchServer

P95_TARGET_MS = 100.0
TOKEN_NAME = "bench api"
# The throttle still runs on every request; only its limit is out of the way.
SERVER_ENV = {"API_RATE_LIMIT": "100000000/min"}
WARMUP_REQUESTS = 20


class ApiBenchError(BenchWorkerError):
    pass


@dataclass(frozen=True)
class Endpoint:
    label: str
    path: str
    key: str


@dataclass(frozen=True)
class EndpointFigures:
    label: str
    path: str
    rows: int
    queries: int
    alone: http_load.LoadResult
    loaded: http_load.LoadResult


@dataclass(frozen=True)
class ApiResult:
    agent: str
    timeline_agent: str
    server_env: dict
    clients: int
    seconds: float
    figures: list[EndpointFigures]


def measure_api(
    *,
    customer_id: int,
    depth: int,
    clients: int,
    seconds: float,
    log_dir: Path,
    server_env: dict,
    seeded_tickets: int,
) -> ApiResult:
    """Each endpoint for `seconds` with one client, then with `clients`."""
    agent = team_agent(busiest_team(seeded_tickets=seeded_tickets))
    timeline_agent = team_agent(heavy_ticket(customer_id).team)
    supervisor = bench_supervisor()
    ApiToken.objects.filter(name=TOKEN_NAME).delete()

    def _read_key(user) -> str:
        return do_issue_api_token(user=user, name=TOKEN_NAME, scopes=["read"])[1]

    keys = {
        user.username: _read_key(user) for user in (agent, timeline_agent, supervisor)
    }
    supervisor_key = keys[supervisor.username]
    tickets = "/api/v1/tickets/"
    searched = f"{tickets}?{urlencode({'q': SEARCH_TERM, 'channel': SEARCH_CHANNEL})}"
    search = f"q={SEARCH_TERM} channel={SEARCH_CHANNEL}"
    timeline = f"/api/v1/customers/{customer_id}/timeline/"
    deep = f"{timeline}?{urlencode({'cursor': deep_cursor(customer_id, depth)})}"
    endpoints = [
        Endpoint("tickets (agent)", tickets, keys[agent.username]),
        Endpoint(f"tickets {search} (agent)", searched, keys[agent.username]),
        Endpoint("tickets (supervisor)", tickets, supervisor_key),
        Endpoint(f"tickets {search} (supervisor)", searched, supervisor_key),
        Endpoint(
            "heavy customer's timeline (agent)",
            timeline,
            keys[timeline_agent.username],
        ),
        Endpoint("heavy customer's timeline (supervisor)", timeline, supervisor_key),
        Endpoint(
            f"heavy customer's timeline, {depth:,} deep (supervisor)",
            deep,
            supervisor_key,
        ),
    ]
    env = {**SERVER_ENV, **server_env}
    try:
        # Counted before the load: this process keeps the desk's rate limit,
        # and the server's requests count against the same tokens.
        queries = [_queries(endpoint) for endpoint in endpoints]
        with BenchServer(
            queue=f"bench-api-{uuid.uuid4().hex[:8]}",
            log_path=log_dir / "daphne-api.log",
            extra_env=env,
        ) as server:
            figures = [
                _measure(
                    server, endpoint, queries=count, clients=clients, seconds=seconds
                )
                for endpoint, count in zip(endpoints, queries, strict=True)
            ]
    finally:
        ApiToken.objects.filter(name=TOKEN_NAME).delete()
    return ApiResult(
        agent=agent.username,
        timeline_agent=timeline_agent.username,
        server_env=env,
        clients=clients,
        seconds=seconds,
        figures=figures,
    )


def _measure(
    server: BenchServer,
    endpoint: Endpoint,
    *,
    queries: int,
    clients: int,
    seconds: float,
) -> EndpointFigures:
    send = _getter(endpoint)
    rows = _rows(server, endpoint)
    # Fills the server's connection pool and caches before anything is timed.
    http_load.closed_loop(
        host=server.host, port=server.port, send=send, clients=clients, seconds=0.5
    )
    for _ in range(WARMUP_REQUESTS):
        _rows(server, endpoint)
    alone, loaded = (
        http_load.closed_loop(
            host=server.host, port=server.port, send=send, clients=n, seconds=seconds
        )
        for n in (1, clients)
    )
    for load in (alone, loaded):
        if load.errors:
            raise ApiBenchError(f"GET {endpoint.path}: {', '.join(load.errors[:3])}")
    return EndpointFigures(
        label=endpoint.label,
        path=endpoint.path,
        rows=rows,
        queries=queries,
        alone=alone,
        loaded=loaded,
    )


def _getter(endpoint: Endpoint) -> http_load.Send:
    headers = {"Authorization": f"Bearer {endpoint.key}", "Accept": "application/json"}

    def send(connection: http.client.HTTPConnection, number: int):
        connection.request("GET", endpoint.path, headers=headers)
        answer = connection.getresponse()
        return answer.status, len(answer.read())

    return send


def _rows(server: BenchServer, endpoint: Endpoint) -> int:
    """The page's rows, after checking that the answer is a full page."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request(
            "GET", endpoint.path, headers={"Authorization": f"Bearer {endpoint.key}"}
        )
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()
    if answer.status != 200:
        raise ApiBenchError(f"GET {endpoint.path} answered {answer.status}: {body!r}")
    rows = len(json.loads(body)["results"])
    if not rows:
        raise ApiBenchError(f"GET {endpoint.path} answered an empty page")
    return rows


def _queries(endpoint: Endpoint) -> int:
    """SQL statements of one request, run in this process for the count."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {endpoint.key}")
    client.get(endpoint.path)
    answer, queries = counting_statements(lambda: client.get(endpoint.path))
    if answer.status_code != 200:
        raise ApiBenchError(f"GET {endpoint.path} answered {answer.status_code}")
    return queries


def add_figures(report: Report, result: ApiResult) -> None:
    report.context["api"] = {
        "agent": result.agent,
        "timeline_agent": result.timeline_agent,
        "server_env": result.server_env,
        "seconds_per_run": result.seconds,
        "endpoints": {
            figures.label: {
                "path": figures.path,
                "rows": figures.rows,
                "queries": figures.queries,
                "alone": _summary(figures.alone),
                f"{result.clients}_clients": _summary(figures.loaded),
            }
            for figures in result.figures
        },
    }
    target = f"< {P95_TARGET_MS:.0f} ms"
    for figures in result.figures:
        alone, loaded = figures.alone, figures.loaded
        p95 = alone.latency(0.95)
        report.add(
            f"API {figures.label}: p50 / p95",
            f"{alone.latency(0.5):.1f} / {p95:.1f} ms",
            target,
            p95 < P95_TARGET_MS,
            number=round(p95, 2),
        )
        report.add(
            f"API {figures.label}: req/s, 1 / {result.clients} clients",
            f"{alone.answer_rate:.0f} / {loaded.answer_rate:.0f} req/s "
            f"(p95 {loaded.latency(0.95):.0f} ms), {figures.queries} queries",
            number=round(loaded.answer_rate, 1),
        )


def _summary(load: http_load.LoadResult) -> dict:
    return {
        "requests": load.requests,
        "requests_per_second": round(load.answer_rate, 1),
        **{
            f"p{round(f * 100)}_ms": round(load.latency(f), 2)
            for f in (0.5, 0.95, 0.99)
        },
        "max_ms": round(load.latency(1.0), 2),
    }
