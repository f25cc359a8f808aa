"""WhatsApp webhook load: signed POSTs to a real ASGI server, processed by a worker.

The door under load is the production one: daphne serves the desk's ASGI
application in a subprocess, every request carries a valid X-Hub-Signature-256
over its raw body and a message id of its own, and a Celery worker on a queue of
its own processes the stored records while the requests arrive. Senders cycle
through a pool of fresh numbers, so some messages open a customer and a ticket
and others continue a conversation.
"""

import copy
import http.client
import json
import os
import random
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from channels_app.adapters.meta import SIGNATURE_HEADER, hub_signature
from channels_app.models import InboundRecord, Inbox
from tests.bench import http_load
from tests.bench.ingest import BenchWorker, _fresh_phones
from tests.bench.processes import LoggedProcess
from tests.bench.report import Report
from tickets.models import Ticket

INBOX_SLUG = "bench"
APP_SECRET = "bench-app-secret"
SENDERS = 200
P95_TARGET_MS = 100.0
# As supervisord.conf's web process has it; --server-env DATABASE_POOL_SIZE=0 compares.
SERVER_ENV = {"DATABASE_POOL_SIZE": "8"}
WARMUP_SECONDS = 2.0
Status = InboundRecord.Status
DONE = (Status.PROCESSED, Status.FAILED, Status.UNSUPPORTED)


@dataclass(frozen=True)
class WebhookResult:
    server: str
    server_env: dict
    open: http_load.LoadResult
    closed: http_load.LoadResult
    clients: int
    records: int
    processed: int
    failed: int
    unsupported: int
    drain_seconds: float


def bench_inbox() -> Inbox:
    inbox, _ = Inbox.objects.update_or_create(
        adapter=Inbox.Adapter.WHATSAPP,
        slug=INBOX_SLUG,
        defaults={
            "name": "Bench WhatsApp",
            "enabled": True,
            "config": {"phone_number_id": "1122334455667"},
            "secrets": {
                "app_secret": APP_SECRET,
                "access_token": "bench-access-token",
                "verify_token": "bench-verify-token",
            },
        },
    )
    return inbox


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class BenchServer(LoggedProcess):
    """daphne serving the desk on a free loopback port, stopped however it ends."""

    name = "web server"

    def __init__(self, *, queue: str, log_path: Path, extra_env=None):
        super().__init__(log_path=log_path)
        self.queue = queue
        self.extra_env = dict(extra_env or {})
        self.host = "127.0.0.1"
        self.port = free_port()

    def __enter__(self) -> "BenchServer":
        env = {
            **os.environ,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            **SERVER_ENV,
            **self.extra_env,
        }
        daphne = Path(sys.executable).with_name("daphne")
        command = [
            str(daphne),
            "-b",
            self.host,
            "-p",
            str(self.port),
            "supportdesk.asgi:application",
        ]
        self.start(command, env)
        self.wait_until(self._answers)
        return self

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class SignedMessages:
    """WhatsApp text-message webhooks, each with its own wamid, signed."""

    def __init__(self, *, template: dict, run: str, senders: list[str], path: str):
        self.template = template
        self.run = run
        self.senders = senders
        self.path = path

    def body(self, number: int) -> bytes:
        document = copy.deepcopy(self.template)
        value = document["entry"][0]["changes"][0]["value"]
        sender = self.senders[number % len(self.senders)]
        message = value["messages"][0]
        message.update(
            id=f"wamid.bench-{self.run}-{number}",
            timestamp=str(int(time.time())),
            text={"body": f"Bench message {number}: is my order on its way?"},
            **{"from": sender},
        )
        value["contacts"][0]["wa_id"] = sender
        value["contacts"][0]["profile"]["name"] = f"Bench Sender {number % 1000}"
        return json.dumps(document, separators=(",", ":")).encode()

    def send(self, connection: http.client.HTTPConnection, number: int):
        body = self.body(number)
        connection.request(
            "POST",
            self.path,
            body=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: hub_signature(APP_SECRET, body),
            },
        )
        answer = connection.getresponse()
        content = answer.read()
        if answer.status != 200:
            return answer.status, None
        # The door answers with the stored record's id.
        return answer.status, json.loads(content).get("received")


def text_message_template(corpus: Path) -> dict:
    document = json.loads((corpus / "whatsapp" / "message.json").read_text())
    return document["text"]


def _wait_processed(record_ids: list[int], timeout: float) -> tuple[float, dict]:
    """Seconds until every record is processed and every ticket the messages
    opened is routed, so no task is left on the queue; the records' statuses."""
    started = time.perf_counter()
    deadline = started + timeout
    records = InboundRecord.objects.filter(pk__in=record_ids)
    while records.filter(status__in=DONE).count() < len(record_ids):
        if time.perf_counter() > deadline:
            break
        time.sleep(0.1)
    event_ids = [
        i for listed in records.values_list("event_ids", flat=True) for i in listed
    ]
    tickets = Ticket.objects.filter(events__id__in=event_ids, routed_at__isnull=True)
    while tickets.exists() and time.perf_counter() < deadline:
        time.sleep(0.1)
    counts = {status: records.filter(status=status).count() for status in DONE}
    return time.perf_counter() - started, counts


def measure_webhook(
    *,
    corpus: Path,
    rate: float,
    seconds: float,
    clients: int,
    closed_seconds: float,
    concurrency: int,
    log_dir: Path,
    server_env=None,
    timeout: float = 300.0,
) -> WebhookResult:
    run = uuid.uuid4().hex[:10]
    queue = f"bench-hook-{run}"
    inbox = bench_inbox()
    messages = SignedMessages(
        template=text_message_template(corpus),
        run=run,
        senders=[p.lstrip("+") for p in _fresh_phones(SENDERS, random.Random(run))],
        path=f"/webhooks/{inbox.adapter}/{inbox.slug}/",
    )
    with (
        BenchWorker(
            queue=queue,
            concurrency=concurrency,
            log_path=log_dir / "worker-webhook.log",
        ),
        BenchServer(
            queue=queue, log_path=log_dir / "daphne.log", extra_env=server_env
        ) as server,
    ):
        target = {"host": server.host, "port": server.port, "send": messages.send}
        count = round(rate * seconds)
        # The server's first requests import views and open connections.
        warmup = http_load.closed_loop(
            **target, clients=2, seconds=WARMUP_SECONDS, first_number=10**8
        )
        opened = http_load.open_loop(**target, rate=rate, seconds=seconds)
        closed = http_load.closed_loop(
            **target, clients=clients, seconds=closed_seconds, first_number=count
        )
        record_ids = sorted(
            {
                sample.kept
                for result in (warmup, opened, closed)
                for sample in result.ok
                if sample.kept
            }
        )
        drain, counts = _wait_processed(record_ids, timeout)
    return WebhookResult(
        server="daphne",
        server_env={**SERVER_ENV, **(server_env or {})},
        open=opened,
        closed=closed,
        clients=clients,
        records=len(record_ids),
        processed=counts[Status.PROCESSED],
        failed=counts[Status.FAILED],
        unsupported=counts[Status.UNSUPPORTED],
        drain_seconds=drain,
    )


def add_figures(report: Report, result: WebhookResult, *, rate: float) -> None:
    opened, closed, clients = result.open, result.closed, result.clients
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
        f"< {P95_TARGET_MS:.0f} ms at {rate:g}/s",
        steady and p95 < P95_TARGET_MS,
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


def _load_summary(load: http_load.LoadResult) -> dict:
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
