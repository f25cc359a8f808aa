"""`manage.py bench`: seed the bench database once, measure, print and save a table.

Run it through `make bench`, which points DATABASE_URL at a database whose name
contains "bench" and REDIS_URL at the broker; nothing else is touched.
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from supportdesk.bench import database, dataset, ingest, timeline
from supportdesk.bench.report import Report

INGEST_TARGET = 250.0
TIMELINE_P95_TARGET_MS = 50.0


class Command(BaseCommand):
    help = "Seed the bench data set (once) and measure ingest and timeline latency."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reseed",
            action="store_true",
            help="Seed again even if the marker is there.",
        )
        parser.add_argument("--messages", type=int, default=2000)
        parser.add_argument("--concurrency", type=int, default=2)
        parser.add_argument("--requests", type=int, default=200)
        parser.add_argument("--depth", type=int, default=9000)
        parser.add_argument("--customers", type=int, default=100_000)
        parser.add_argument("--events", type=int, default=1_000_000)
        parser.add_argument("--heavy-events", type=int, default=10_000)
        parser.add_argument(
            "--worker-env",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="Extra environment for the bench worker, to compare settings.",
        )
        parser.add_argument("--skip-ingest", action="store_true")
        parser.add_argument("--skip-timeline", action="store_true")

    def handle(self, *args, **options):
        spec = database.DatasetSpec(
            customers=options["customers"],
            events=options["events"],
            heavy_events=options["heavy_events"],
        )
        if not 2 <= spec.customers <= spec.events - spec.heavy_events + 1:
            raise CommandError("every customer needs at least one event")
        if options["depth"] >= spec.heavy_events:
            raise CommandError("--depth must be below --heavy-events")
        try:
            name = database.check_bench_database()
        except database.BenchDatabaseError as exc:
            raise CommandError(str(exc)) from exc
        if database.ensure_database(name):
            self.say(f"created database {name}")
        database.migrate()

        report = Report(context={"database": name, "dataset": vars(spec)})
        marker = database.read_marker()
        if options["reseed"] or marker is None or marker.spec != spec:
            self.say(f"seeding {spec.customers:,} customers and {spec.events:,} events")
            marker = dataset.seed(spec, self.say)
            self.say(f"seeded in {marker.seconds:.1f}s")
            report.add(
                "seed time (this run)",
                f"{marker.seconds:.1f} s",
                "< 120 s",
                marker.seconds < 120,
                number=marker.seconds,
            )
        else:
            self.say(f"reusing the data set seeded in {marker.seconds:.1f}s")
        report.context["tickets"] = marker.tickets
        report.context["heavy_customer_id"] = marker.heavy_customer_id

        if not options["skip_ingest"]:
            try:
                self._ingest(report, options)
            except ingest.BenchWorkerError as exc:
                self.stderr.write(f"ingest bench failed: {exc}")
                report.add("ingest throughput (submit → routed)", "failed", "", False)
        if not options["skip_timeline"]:
            self._timeline(report, marker, options)

        self.stdout.write("\n" + report.table())
        path = settings.BASE_DIR / "bench-results" / "latest.json"
        report.write_json(path)
        self.say(f"\nwritten to {path.relative_to(settings.BASE_DIR)}")

    def _ingest(self, report: Report, options) -> None:
        count, concurrency = options["messages"], options["concurrency"]
        if any("=" not in item for item in options["worker_env"]):
            raise CommandError("--worker-env takes NAME=VALUE")
        worker_env = dict(item.split("=", 1) for item in options["worker_env"])
        self.say(f"ingesting {count:,} messages through {concurrency} worker processes")
        started = time.monotonic()
        result = ingest.measure_ingest(
            messages=count,
            concurrency=concurrency,
            log_dir=settings.BASE_DIR / "bench-results",
            worker_env=worker_env,
        )
        self.say(f"  done in {time.monotonic() - started:.1f}s with the worker's start")
        report.context["ingest"] = {
            "messages": count,
            "concurrency": concurrency,
            "worker_env": worker_env,
            "seconds": round(result.seconds, 2),
            "submit_seconds": round(result.submit_seconds, 2),
        }
        report.add(
            "ingest throughput (submit → routed)",
            f"{result.per_second:.0f} msg/s",
            f">= {INGEST_TARGET:.0f} msg/s",
            result.per_second >= INGEST_TARGET,
            number=round(result.per_second, 1),
        )
        report.add(
            "ingest: tickets routed",
            f"{result.tickets:,} of {count:,}",
            "all",
            result.tickets == count and not result.failed,
            number=result.tickets,
        )
        report.add(
            "ingest: tickets with exactly one RouteChange",
            f"{result.tickets_with_one_route_change:,}",
            "all",
            result.tickets_with_one_route_change == result.tickets,
            number=result.tickets_with_one_route_change,
        )

    def _timeline(self, report: Report, marker, options) -> None:
        depth, requests = options["depth"], options["requests"]
        self.say(
            f"timeline of customer {marker.heavy_customer_id}: {requests} requests"
        )
        first, deep, plan = timeline.measure_timeline(
            customer_id=marker.heavy_customer_id,
            depth=depth,
            requests=requests,
        )
        target = f"< {TIMELINE_P95_TARGET_MS:.0f} ms"
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
                page.p95_ms < TIMELINE_P95_TARGET_MS,
                number=round(page.p95_ms, 2),
            )
        report.add(
            "timeline SQL queries per request (first / deep)",
            f"{first.queries} / {deep.queries}",
            "equal",
            first.queries == deep.queries,
        )
        report.add(
            f"deep page: ordered scan of {timeline.KEYSET_INDEX}, no sort",
            "yes" if plan.uses_index else "no",
            "yes",
            plan.uses_index,
        )
        report.context["keyset_plan"] = plan.plan.splitlines()

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
