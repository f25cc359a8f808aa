"""`python -m tests.bench`: seed the bench database once, measure, print and save a
table.

Measured: ingest through workers, the timeline page, the agent's queue and ticket
pages, email through ingest_eml, the WhatsApp webhook under load (a real daphne
and worker), the chat widget's sockets and reply latency, and the REST API's
ticket list and timeline over HTTP; --skip-* leaves one out, --only runs the ones
it names.

Run it through `make bench`, which points DATABASE_URL at a database whose name
contains "bench" and REDIS_URL at the broker; nothing else is touched. Django is
set up by `tests/bench/__main__.py` before this module is imported, since the
measuring modules import the desk's models.
"""

import argparse
import sys
import time
from pathlib import Path

from django.conf import settings

from tests.bench import (
    api,
    cpu,
    database,
    dataset,
    email_ingest,
    ingest,
    pages,
    redis_keys,
    timeline,
    webhook,
    widget,
    widget_report,
)
from tests.bench.processes import BenchWorkerError
from tests.bench.report import Report

SCENARIOS = ("ingest", "timeline", "pages", "email", "webhook", "widget", "api")
# A scenario whose worker or server fails leaves this row in the table, so the
# others still run; the scenarios not named here stop the command.
FAILED_ROWS = {
    "ingest": ("ingest", "ingest throughput (submit → routed)"),
    "email": ("email", "email ingest_eml throughput"),
    "webhook": ("webhook", "WhatsApp webhook p95"),
    "widget": ("widget", "widget sockets open at once"),
    "api": ("API", "API ticket list and timeline"),
}


class BenchError(Exception):
    """The bench cannot run as asked; the message says why."""


DESCRIPTION = (
    "Seed the bench data set (once) and measure ingest, timeline latency, "
    "the queue and ticket pages, email ingest through ingest_eml, the "
    "WhatsApp webhook under load, the chat widget's sockets and the REST "
    "API's ticket list and timeline."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench", description=DESCRIPTION
    )
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
    for name in SCENARIOS:
        parser.add_argument(f"--skip-{name}", action="store_true")
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
    parser.add_argument(
        "--widget-open-parallel",
        type=int,
        default=widget.OPEN_PARALLEL,
        help="Widget sockets opening at the same time (the socket count: all "
        "at once, as after a server restart).",
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
    return parser


class Bench:
    """The scenarios in their order, each adding its rows to one report."""

    def run(self, options: dict) -> None:
        for name in SCENARIOS:
            if options["only"] and name not in options["only"]:
                options[f"skip_{name}"] = True
        spec = database.DatasetSpec(
            customers=options["customers"],
            events=options["events"],
            heavy_events=options["heavy_events"],
        )
        if not 2 <= spec.customers <= spec.events - spec.heavy_events + 1:
            raise BenchError("every customer needs at least one event")
        if options["depth"] >= spec.heavy_events:
            raise BenchError("--depth must be below --heavy-events")
        # Checked before the seed, which a typo would otherwise cost.
        options["worker_env"] = _pairs(options["worker_env"], "--worker-env")
        options["server_env"] = _pairs(options["server_env"], "--server-env")
        try:
            name = database.check_bench_database()
        except database.BenchDatabaseError as exc:
            raise BenchError(str(exc)) from exc
        if not settings.REDIS_URL:
            raise BenchError("the bench needs Redis: set REDIS_URL=redis://...")
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

        keys_before = redis_keys.count_keys()
        try:
            for name in SCENARIOS:
                if not options[f"skip_{name}"]:
                    self._run(name, report, marker, options)
        finally:
            # Also when a part failed or the run stopped: the next run, and
            # whoever else uses this Redis, find none of the bench's keys.
            deleted = redis_keys.delete_bench_keys()
            self.say(f"deleted {deleted:,} of the bench's Redis keys and entries")
        _add_key_figures(report, keys_before, deleted, redis_keys.count_keys())

        print("\n" + report.table(), flush=True)
        path = settings.BASE_DIR / "bench-results" / "latest.json"
        report.write_json(path)
        self.say(f"\nwritten to {path.relative_to(settings.BASE_DIR)}")

    def _run(self, name: str, report: Report, marker, options) -> None:
        started = cpu.sample()
        try:
            getattr(self, f"_{name}")(report, marker, options)
        except BenchWorkerError as exc:
            if name not in FAILED_ROWS:
                raise
            title, row = FAILED_ROWS[name]
            print(f"{title} bench failed: {exc}", file=sys.stderr, flush=True)
            report.add(row, "failed", "", False)
        cpu.add_figures(report, name, cpu.since(started))

    def _ingest(self, report: Report, marker, options) -> None:
        count, concurrency = options["messages"], options["concurrency"]
        worker_env = options["worker_env"]
        self.say(f"ingesting {count:,} messages through {concurrency} worker processes")
        started = time.monotonic()
        result = ingest.measure_ingest(
            messages=count,
            concurrency=concurrency,
            log_dir=settings.BASE_DIR / "bench-results",
            worker_env=worker_env,
        )
        self.say(f"  done in {time.monotonic() - started:.1f}s with the worker's start")
        ingest.add_figures(
            report, result, concurrency=concurrency, worker_env=worker_env
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
        timeline.add_figures(report, first, deep, plan)

    def _pages(self, report: Report, marker, options) -> None:
        requests = options["requests"]
        self.say(f"queue and ticket pages: {requests} requests each")
        result = pages.measure_pages(
            customer_id=marker.heavy_customer_id,
            requests=requests,
            seeded_tickets=marker.tickets,
        )
        pages.add_figures(report, result)

    def _email(self, report: Report, marker, options) -> None:
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
        email_ingest.add_figures(report, result, processed_by=where)

    def _webhook(self, report: Report, marker, options) -> None:
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
            server_env=options["server_env"],
        )
        webhook.add_figures(report, result, rate=rate)

    def _widget(self, report: Report, marker, options) -> None:
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
            server_env=options["server_env"],
            open_parallel=options["widget_open_parallel"],
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
            server_env=options["server_env"],
            seeded_tickets=marker.tickets,
        )
        api.add_figures(report, result)

    def say(self, text: str) -> None:
        print(text, flush=True)


def _add_key_figures(
    report: Report,
    before: redis_keys.KeyCount,
    deleted: int,
    after: redis_keys.KeyCount,
) -> None:
    report.context["redis_keys"] = {
        "before": vars(before),
        "deleted": deleted,
        "after": vars(after),
    }
    report.add(
        "Redis keys before / after the run",
        f"{before.total:,} / {after.total:,} ({deleted:,} of the bench's deleted)",
        number=after.total,
    )
    report.add(
        "Redis: the bench's keys left after the run",
        f"{after.bench:,}",
        "0",
        after.bench == 0,
        number=after.bench,
    )


def _pairs(items: list[str], option: str) -> dict[str, str]:
    if any("=" not in item for item in items):
        raise BenchError(f"{option} takes NAME=VALUE")
    return dict(item.split("=", 1) for item in items)


def _corpus(options) -> Path:
    corpus = options["corpus"] or Path(settings.BASE_DIR).parent / "shared" / "corpus"
    if not corpus.is_dir():
        raise BenchError(f"no corpus at {corpus}: pass --corpus")
    return corpus


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    options = vars(parser.parse_args(argv))
    try:
        Bench().run(options)
    except BenchError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    return 0
