"""Email ingest throughput: the corpus mails through `manage.py ingest_eml`.

The mails are repeated until the batch is large enough, each copy under a Message-ID
of its own so the desk stores every one instead of recognising a duplicate. They
are written as a directory of .eml files and handed to the real command in a
subprocess, as a mail server's pipe would. With a worker the command only stores
and queues (`--queue`) and a Celery worker on a queue of its own processes them;
inline the command processes each mail itself. The clock runs from the command's
start until every mail is processed and every ticket the mails opened is routed.
"""

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from channels_app.models import InboundRecord
from tests.bench.ingest import BenchWorker, BenchWorkerError
from tests.bench.report import Report
from tickets.models import Ticket

WARMUP_MAILS = 40
Status = InboundRecord.Status
DONE = (Status.PROCESSED, Status.FAILED, Status.UNSUPPORTED)
# A Message-ID header line and the folded lines that continue it.
_MESSAGE_ID_HEADER = re.compile(
    rb"^message-id[ \t]*:.*(?:\r?\n[ \t].*)*(?:\r?\n|$)",
    re.IGNORECASE | re.MULTILINE,
)
# The end of the last header line, before the blank line that ends the headers.
_HEADER_END = re.compile(rb"\r?\n(?=\r?\n)")


@dataclass(frozen=True)
class EmailIngestResult:
    mails: int
    corpus_mails: int
    through_worker: bool
    seconds: float
    command_seconds: float
    processed: int
    failed: int
    unsupported: int
    tickets: int
    tickets_routed: int

    @property
    def per_second(self) -> float:
        return self.mails / self.seconds if self.seconds else 0.0


def corpus_mails(corpus: Path) -> list[bytes]:
    """Every mail of the corpus, in a stable order."""
    files = sorted(p for p in (corpus / "email").rglob("*.eml") if p.is_file())
    if not files:
        raise BenchWorkerError(f"no .eml files below {corpus / 'email'}")
    return [path.read_bytes() for path in files]


def with_message_id(raw: bytes, message_id: str) -> bytes:
    """The mail with its Message-ID header, if any, replaced by this one."""
    match = _HEADER_END.search(raw)
    split = match.end() if match else len(raw)
    head, rest = raw[:split], raw[split:]
    head = _MESSAGE_ID_HEADER.sub(b"", head)
    newline = b"\r\n" if raw.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
    return f"Message-ID: {message_id}".encode() + newline + head + rest


def write_batch(
    mails: list[bytes], *, count: int, prefix: str, directory: Path
) -> list[str]:
    """Write `count` copies cycling through the mails; their Message-IDs."""
    directory.mkdir(parents=True)
    ids = []
    for number in range(count):
        message_id = f"<{prefix}-{number}@bench.invalid>"
        raw = with_message_id(mails[number % len(mails)], message_id)
        # Zero-padded: the command reads a directory's files in sorted order.
        (directory / f"{number:06d}.eml").write_bytes(raw)
        ids.append(message_id)
    return ids


def _run_command(directory: Path, *, queue: str | None, log_path: Path) -> float:
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0"}
    command = [sys.executable, "manage.py", "ingest_eml", str(directory)]
    if queue:
        env["CELERY_TASK_DEFAULT_QUEUE"] = queue
        command.insert(3, "--queue")
    else:
        # Inline, the tickets' routing tasks still need somewhere to run.
        env["CELERY_TASK_ALWAYS_EAGER"] = "1"
    started = time.perf_counter()
    with log_path.open("ab") as log:
        finished = subprocess.run(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if finished.returncode:
        raise BenchWorkerError(
            f"ingest_eml exited with {finished.returncode}; see {log_path}"
        )
    return time.perf_counter() - started


def _wait_processed(ids: list[str], started: float, timeout: float) -> tuple:
    """Seconds since `started` until every mail is processed and every ticket they
    opened is routed; the records' statuses; the tickets."""
    records = InboundRecord.objects.filter(channel="email", external_id__in=ids)
    deadline = started + timeout
    while (done := records.filter(status__in=DONE).count()) < len(ids):
        if time.perf_counter() > deadline:
            raise BenchWorkerError(
                f"only {done} of {len(ids)} mails processed in {timeout:.0f}s"
            )
        time.sleep(0.05)
    event_ids = [
        event_id
        for listed in records.values_list("event_ids", flat=True)
        for event_id in listed
    ]
    tickets = Ticket.objects.filter(events__id__in=event_ids).distinct()
    while unrouted := tickets.filter(routed_at__isnull=True).count():
        if time.perf_counter() > deadline:
            raise BenchWorkerError(
                f"{unrouted} tickets the mails opened were not routed in {timeout:.0f}s"
            )
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    counts = {status: records.filter(status=status).count() for status in DONE}
    return seconds, counts, tickets


def _ingest_batch(mails, *, count, prefix, directory, queue, log_path, timeout):
    ids = write_batch(mails, count=count, prefix=prefix, directory=directory)
    started = time.perf_counter()
    command_seconds = _run_command(directory, queue=queue, log_path=log_path)
    seconds, counts, tickets = _wait_processed(ids, started, timeout)
    return seconds, command_seconds, counts, tickets


def measure_email_ingest(
    *,
    mails: int,
    corpus: Path,
    concurrency: int,
    through_worker: bool,
    log_dir: Path,
    timeout: float = 600.0,
) -> EmailIngestResult:
    run = uuid.uuid4().hex[:10]
    queue = f"bench-mail-{run}" if through_worker else None
    originals = corpus_mails(corpus)
    log_path = log_dir / "ingest_eml.log"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path.write_bytes(b"")
    with tempfile.TemporaryDirectory(prefix="bench-eml-") as tmp:
        batch = dict(queue=queue, log_path=log_path, timeout=timeout)
        worker = (
            BenchWorker(
                queue=queue,
                concurrency=concurrency,
                log_path=log_dir / "worker-email.log",
            )
            if through_worker
            else contextlib.nullcontext()
        )
        with worker:
            # The first mails pay for imports and first queries in every process.
            _ingest_batch(
                originals,
                count=WARMUP_MAILS,
                prefix=f"bench-{run}w",
                directory=Path(tmp) / "warmup",
                **batch,
            )
            seconds, command_seconds, counts, tickets = _ingest_batch(
                originals,
                count=mails,
                prefix=f"bench-{run}",
                directory=Path(tmp) / "batch",
                **batch,
            )
            routed = tickets.filter(routed_at__isnull=False).count()
    return EmailIngestResult(
        mails=mails,
        corpus_mails=len(originals),
        through_worker=through_worker,
        seconds=seconds,
        command_seconds=command_seconds,
        processed=counts[Status.PROCESSED],
        failed=counts[Status.FAILED],
        unsupported=counts[Status.UNSUPPORTED],
        tickets=tickets.count(),
        tickets_routed=routed,
    )


def add_figures(
    report: Report, result: EmailIngestResult, *, processed_by: str
) -> None:
    report.context["email"] = {
        "mails": result.mails,
        "corpus_mails": result.corpus_mails,
        "processed_by": processed_by,
        "seconds": round(result.seconds, 2),
        "command_seconds": round(result.command_seconds, 2),
        "tickets": result.tickets,
    }
    report.add(
        f"email ingest_eml throughput "
        f"({'worker' if result.through_worker else 'inline'})",
        f"{result.per_second:.0f} msg/s",
        number=round(result.per_second, 1),
    )
    report.add(
        "email: mails processed without error",
        f"{result.processed:,} of {result.mails:,}",
        "all",
        result.processed == result.mails,
        number=result.processed,
    )
    report.add(
        "email: tickets opened and routed",
        f"{result.tickets_routed:,} of {result.tickets:,}",
        "all",
        result.tickets_routed == result.tickets,
        number=result.tickets_routed,
    )
