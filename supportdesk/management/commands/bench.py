"""`manage.py bench`: seed the bench database once, measure, print and save a table.

Measured: ingest through workers, the timeline page, the agent's queue and ticket
pages, email through ingest_eml, the WhatsApp webhook under load (a real daphne
and worker), the chat widget's sockets and reply latency, and the REST API's
ticket list and timeline over HTTP; --skip-* leaves one out, --only runs the ones
it names.

Run it through `make bench`, which points DATABASE_URL at a database whose name
contains "bench" and REDIS_URL at the broker; nothing else is touched.
"""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from supportdesk.bench import (
    api,
    database,
    dataset,
    email_ingest,
    ingest,
    pages,
    timeline,
    webhook,
    widget,
    widget_report,
)
from supportdesk.bench.report import Report

INGEST_TARGET = 250.0
TIMELINE_P95_TARGET_MS = 50.0
PAGES_P95_TARGET_MS = 150.0
WEBHOOK_P95_TARGET_MS = 100.0
SCENARIOS = ("ingest", "timeline", "pages", "email", "webhook", "widget", "api")


class Command(BaseCommand):
    help = (
        "Seed the bench data set (once) and measure ingest, timeline latency, "
        "the queue and ticket pages, email ingest through ingest_eml, the "
        "WhatsApp webhook under load, the chat widget's sockets and the REST "
        "API's ticket list and timeline."
    )

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
        parser.add_argument("--email-messages", type=int, default=5000)
        parser.add_argument(
            "--email-inline",
            action="store_true",
            help="Let ingest_eml process each mail itself instead of a worker.",
        )
        parser.add_argument(
            "--webhook-rate",
            type=float,
            default=50.0,
            help="WhatsApp webhooks arriving per second in the open loop.",
        )
        parser.add_argument("--webhook-seconds", type=float, default=20.0)
        parser.add_argument(
            "--webhook-clients",
            type=int,
            default=16,
            help="Concurrent clients of the closed loop that finds the maximum rate.",
        )
        parser.add_argument("--webhook-closed-seconds", type=float, default=5.0)
        parser.add_argument(
            "--server-env",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="Extra environment for the bench's web server, to compare settings.",
        )
        parser.add_argument(
            "--corpus",
            type=Path,
            default=None,
            help="The corpus of real mails and payloads (default: ../shared/corpus).",
        )
        parser.add_argument("--skip-ingest", action="store_true")
        parser.add_argument("--skip-timeline", action="store_true")
        parser.add_argument("--skip-pages", action="store_true")
        parser.add_argument("--skip-email", action="store_true")
        parser.add_argument("--skip-webhook", action="store_true")
        parser.add_argument("--skip-widget", action="store_true")
        parser.add_argument("--skip-api", action="store_true")
        parser.add_argument(
            "--only",
            action="append",
            choices=SCENARIOS,
            default=[],
            help="Run only this scenario (repeatable); the data set is seeded still.",
        )
        parser.add_argument(
            "--widget-sockets",
            type=int,
            default=widget.SOCKETS_TARGET,
            help="Widget sockets one server process holds open at once.",
        )
        parser.add_argument("--widget-conversations", type=int, default=200)
        parser.add_argument("--widget-replies", type=int, default=400)
        parser.add_argument(
            "--widget-rate",
            type=float,
            default=20.0,
            help="Agent replies per second, spread over the conversations.",
        )
        parser.add_argument(
            "--widget-visitor-rate",
            type=float,
            default=5.0,
            help="Visitor messages per second while the agents reply (0: none).",
        )
        parser.add_argument(
            "--api-clients",
            type=int,
            default=4,
            help="Concurrent API clients of the run that measures requests/s.",
        )
        parser.add_argument(
            "--api-seconds",
            type=float,
            default=5.0,
            help="Seconds each API endpoint is called, alone and concurrently.",
        )

    def handle(self, *args, **options):
        for name in SCENARIOS:
            if options["only"] and name not in options["only"]:
                options[f"skip_{name}"] = True
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
        if not options["skip_pages"]:
            self._pages(report, marker, options)
        if not options["skip_email"]:
            try:
                self._email(report, options)
            except ingest.BenchWorkerError as exc:
                self.stderr.write(f"email bench failed: {exc}")
                report.add("email ingest_eml throughput", "failed", "", False)
        if not options["skip_webhook"]:
            try:
                self._webhook(report, options)
            except ingest.BenchWorkerError as exc:
                self.stderr.write(f"webhook bench failed: {exc}")
                report.add("WhatsApp webhook p95", "failed", "", False)
        if not options["skip_widget"]:
            try:
                self._widget(report, options)
            except ingest.BenchWorkerError as exc:
                self.stderr.write(f"widget bench failed: {exc}")
                report.add("widget sockets open at once", "failed", "", False)
        if not options["skip_api"]:
            try:
                self._api(report, marker, options)
            except ingest.BenchWorkerError as exc:
                self.stderr.write(f"API bench failed: {exc}")
                report.add("API ticket list and timeline", "failed", "", False)

        self.stdout.write("\n" + report.table())
        path = settings.BASE_DIR / "bench-results" / "latest.json"
        report.write_json(path)
        self.say(f"\nwritten to {path.relative_to(settings.BASE_DIR)}")

    def _ingest(self, report: Report, options) -> None:
        count, concurrency = options["messages"], options["concurrency"]
        worker_env = _pairs(options["worker_env"], "--worker-env")
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

    def _pages(self, report: Report, marker, options) -> None:
        requests = options["requests"]
        self.say(f"queue and ticket pages: {requests} requests each")
        result = pages.measure_pages(
            customer_id=marker.heavy_customer_id, requests=requests
        )
        report.context["pages"] = {
            "team": result.team,
            "agent": result.agent,
            "ticket_id": result.ticket_id,
            "ticket_team": result.ticket_team,
            "search": {"q": pages.SEARCH_TERM, "channel": pages.SEARCH_CHANNEL},
        }
        target = f"< {PAGES_P95_TARGET_MS:.0f} ms"
        for page in result.pages:
            report.add(
                f"{page.label}: p50 / p95",
                f"{page.p50_ms:.1f} / {page.p95_ms:.1f} ms",
                target,
                page.p95_ms < PAGES_P95_TARGET_MS,
                number=round(page.p95_ms, 2),
            )
            report.add(
                f"{page.label}: SQL queries",
                f"{page.queries}",
                number=page.queries,
            )

    def _email(self, report: Report, options) -> None:
        count, inline = options["email_messages"], options["email_inline"]
        where = "inline" if inline else f"{options['concurrency']} worker processes"
        self.say(f"ingest_eml: {count:,} corpus mails, processed {where}")
        result = email_ingest.measure_email_ingest(
            mails=count,
            corpus=_corpus(options),
            concurrency=options["concurrency"],
            through_worker=not inline,
            log_dir=settings.BASE_DIR / "bench-results",
        )
        report.context["email"] = {
            "mails": count,
            "corpus_mails": result.corpus_mails,
            "processed_by": where,
            "seconds": round(result.seconds, 2),
            "command_seconds": round(result.command_seconds, 2),
            "tickets": result.tickets,
        }
        report.add(
            f"email ingest_eml throughput ({'inline' if inline else 'worker'})",
            f"{result.per_second:.0f} msg/s",
            number=round(result.per_second, 1),
        )
        report.add(
            "email: mails processed without error",
            f"{result.processed:,} of {count:,}",
            "all",
            result.processed == count,
            number=result.processed,
        )
        report.add(
            "email: tickets opened and routed",
            f"{result.tickets_routed:,} of {result.tickets:,}",
            "all",
            result.tickets_routed == result.tickets,
            number=result.tickets_routed,
        )

    def _webhook(self, report: Report, options) -> None:
        rate, seconds = options["webhook_rate"], options["webhook_seconds"]
        clients = options["webhook_clients"]
        self.say(
            f"WhatsApp webhook: {rate:g} requests/s for {seconds:g}s, then "
            f"{clients} clients back to back"
        )
        result = webhook.measure_webhook(
            corpus=_corpus(options),
            rate=rate,
            seconds=seconds,
            clients=clients,
            closed_seconds=options["webhook_closed_seconds"],
            concurrency=options["concurrency"],
            log_dir=settings.BASE_DIR / "bench-results",
            server_env=_pairs(options["server_env"], "--server-env"),
        )
        opened, closed = result.open, result.closed
        report.context["webhook"] = {
            "server": result.server,
            "server_env": result.server_env,
            "open_loop": _load_summary(opened),
            "closed_loop": {"clients": clients, **_load_summary(closed)},
            "records": result.records,
            "drain_seconds": round(result.drain_seconds, 2),
        }
        steady = opened.arrival_rate >= 0.95 * rate and not opened.errors
        report.add(
            "webhook open loop: arrival rate",
            f"{opened.arrival_rate:.1f} req/s",
            f"{rate:g} req/s",
            opened.arrival_rate >= 0.95 * rate,
            number=round(opened.arrival_rate, 2),
        )
        p50, p95, p99 = (opened.latency(f) for f in (0.5, 0.95, 0.99))
        report.add("webhook open loop: p50", f"{p50:.1f} ms", number=round(p50, 2))
        report.add(
            "webhook open loop: p95",
            f"{p95:.1f} ms",
            f"< {WEBHOOK_P95_TARGET_MS:.0f} ms at {rate:g}/s",
            steady and p95 < WEBHOOK_P95_TARGET_MS,
            number=round(p95, 2),
        )
        report.add("webhook open loop: p99", f"{p99:.1f} ms", number=round(p99, 2))
        for label, load in (("open", opened), ("closed", closed)):
            report.add(
                f"webhook {label} loop: answered 200",
                f"{len(load.ok):,} of {load.requests:,}",
                "all",
                not load.errors,
                number=len(load.ok),
            )
        report.add(
            f"webhook closed loop ({clients} clients): rate",
            f"{closed.answer_rate:.0f} req/s",
            number=round(closed.answer_rate, 1),
        )
        report.add(
            "webhook closed loop: p50 / p95",
            f"{closed.latency(0.5):.1f} / {closed.latency(0.95):.1f} ms",
        )
        report.add(
            "webhook: records processed by the worker",
            f"{result.processed:,} of {result.records:,}",
            "all",
            result.processed == result.records,
            number=result.processed,
        )

    def _widget(self, report: Report, options) -> None:
        sockets = options["widget_sockets"]
        conversations = options["widget_conversations"]
        self.say(
            f"chat widget: {sockets:,} sockets on one daphne, then "
            f"{options['widget_replies']} replies at {options['widget_rate']:g}/s "
            f"over {conversations} conversations"
        )
        held, talked = widget.measure_widget(
            sockets=sockets,
            conversations=conversations,
            replies=options["widget_replies"],
            rate=options["widget_rate"],
            visitor_rate=options["widget_visitor_rate"],
            concurrency=options["concurrency"],
            log_dir=settings.BASE_DIR / "bench-results",
            server_env=_pairs(options["server_env"], "--server-env"),
        )
        widget_report.add_figures(report, held, talked)

    def _api(self, report: Report, marker, options) -> None:
        clients, seconds = options["api_clients"], options["api_seconds"]
        self.say(
            f"REST API: ticket list and timeline, {seconds:g}s each alone and "
            f"with {clients} clients"
        )
        result = api.measure_api(
            customer_id=marker.heavy_customer_id,
            depth=options["depth"],
            clients=clients,
            seconds=seconds,
            log_dir=settings.BASE_DIR / "bench-results",
            server_env=_pairs(options["server_env"], "--server-env"),
        )
        api.add_figures(report, result)

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()


def _pairs(items: list[str], option: str) -> dict[str, str]:
    if any("=" not in item for item in items):
        raise CommandError(f"{option} takes NAME=VALUE")
    return dict(item.split("=", 1) for item in items)


def _corpus(options) -> Path:
    corpus = options["corpus"] or Path(settings.BASE_DIR).parent / "shared" / "corpus"
    if not corpus.is_dir():
        raise CommandError(f"no corpus at {corpus}: pass --corpus")
    return corpus


def _load_summary(load) -> dict:
    return {
        "requests": load.requests,
        "answered_200": len(load.ok),
        "errors": load.errors[:10],
        "seconds": round(load.seconds, 2),
        "arrival_rate": round(load.arrival_rate, 2),
        "answer_rate": round(load.answer_rate, 2),
        **{
            f"p{round(f * 100)}_ms": round(load.latency(f), 2)
            for f in (0.5, 0.95, 0.99)
        },
        "max_ms": round(load.latency(1.0), 2),
    }
