"""Latency of the heavy customer's timeline page, first page and deep in history."""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.bench.dataset import SUPERVISOR_USERNAME
from tests.bench.report import Report
from tickets.models import Agent, TimelineEvent
from tickets.timeline import customer_timeline, encode_cursor

KEYSET_INDEX = "timeline_keyset"
P95_TARGET_MS = 50.0


T = TypeVar("T")


class TimelineBenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class PageLatency:
    label: str
    p50_ms: float
    p95_ms: float
    queries: int


@dataclass(frozen=True)
class KeysetPlan:
    uses_index: bool
    plan: str


def bench_supervisor() -> Agent:
    supervisor, _ = Agent.objects.get_or_create(
        username=SUPERVISOR_USERNAME,
        defaults={"role": Agent.Role.SUPERVISOR, "first_name": "Bench"},
    )
    return supervisor


def deep_cursor(customer_id: int, depth: int) -> str:
    """The cursor a reader holds after paging `depth` events into the timeline."""
    event = (
        TimelineEvent.objects.filter(customer_id=customer_id)
        .order_by("-occurred_at", "-id")
        .only("id", "occurred_at")[depth - 1]
    )
    return encode_cursor(event)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure_page(
    client: Client, url: str, *, label: str, requests: int, warmup: int = 20
) -> PageLatency:
    for _ in range(warmup):
        _get(client, url)
    _, queries = counting_statements(lambda: _get(client, url))
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        _get(client, url)
        samples.append((time.perf_counter() - started) * 1000)
    return PageLatency(
        label=label,
        p50_ms=statistics.median(samples),
        p95_ms=_percentile(samples, 0.95),
        queries=queries,
    )


def counting_statements(run: Callable[[], T]) -> tuple[T, int]:
    """What run() returns, and how many SQL statements it sent."""
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    # A request's start clears the connection's query log, which a
    # CaptureQueriesContext around it reads; a wrapper sees every statement.
    with connection.execute_wrapper(count):
        result = run()
    return result, len(statements)


def _get(client: Client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise TimelineBenchError(f"GET {url} answered {response.status_code}")


def measure_timeline(
    *, customer_id: int, depth: int, requests: int
) -> tuple[PageLatency, PageLatency, KeysetPlan]:
    supervisor = bench_supervisor()
    client = Client()
    client.force_login(supervisor)
    url = reverse("customer-timeline", args=[customer_id])
    cursor = deep_cursor(customer_id, depth)
    first = measure_page(client, url, label="first page", requests=requests)
    deep = measure_page(
        client,
        f"{url}?cursor={cursor}",
        label=f"{depth:,} events deep",
        requests=requests,
    )
    return first, deep, explain_keyset(supervisor, customer_id, cursor)


def explain_keyset(viewer, customer_id: int, cursor: str) -> KeysetPlan:
    """The plan of the very query the selector runs for a deep page."""
    with CaptureQueriesContext(connection) as captured:
        customer_timeline(viewer=viewer, customer_id=customer_id, cursor=cursor)
    table = TimelineEvent._meta.db_table
    statements = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith("SELECT")
        and f'FROM "{table}"' in query["sql"]
        and "LIMIT" in query["sql"]
    ]
    if not statements:
        raise TimelineBenchError("the selector ran no timeline query")
    with connection.cursor() as db:
        db.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statements[0]}")
        plan = "\n".join(row[0] for row in db.fetchall())
    # A bitmap scan or a sort reads every older event: the cost would grow with depth.
    ordered = f"Index Scan using {KEYSET_INDEX}" in plan or (
        f"Index Only Scan using {KEYSET_INDEX}" in plan
    )
    return KeysetPlan(uses_index=ordered and "Sort" not in plan, plan=plan)


def add_figures(
    report: Report, first: PageLatency, deep: PageLatency, plan: KeysetPlan
) -> None:
    target = f"< {P95_TARGET_MS:.0f} ms"
    for page in (first, deep):
        report.add(
            f"timeline {page.label}: p50",
            f"{page.p50_ms:.1f} ms",
            number=round(page.p50_ms, 2),
        )
        report.add(
            f"timeline {page.label}: p95",
            f"{page.p95_ms:.1f} ms",
            target,
            page.p95_ms < P95_TARGET_MS,
            number=round(page.p95_ms, 2),
        )
    report.add(
        "timeline SQL queries per request (first / deep)",
        f"{first.queries} / {deep.queries}",
        "equal",
        first.queries == deep.queries,
    )
    report.add(
        f"deep page: ordered scan of {KEYSET_INDEX}, no sort",
        "yes" if plan.uses_index else "no",
        "yes",
        plan.uses_index,
    )
    report.context["keyset_plan"] = plan.plan.splitlines()
