"""Process stored inbound records again, once the cause of their failure is fixed."""

from django.core.management.base import BaseCommand, CommandError

from channels_app.ingest import process_inbound
from channels_app.models import InboundRecord

Status = InboundRecord.Status
REPLAYABLE = (Status.FAILED, Status.UNSUPPORTED, Status.RECEIVED)
MAX_ERROR_CHARS = 200


def _describe(record: InboundRecord) -> str:
    return f"#{record.pk} {record.channel} {record.external_id}"


def _count(records: list) -> str:
    return f"{len(records)} record" + ("" if len(records) == 1 else "s")


def _short(error: str) -> str:
    line = " ".join(error.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"


class Command(BaseCommand):
    help = (
        "Process stored inbound records again: by default every failed one. "
        "Records already processed are never processed twice. One line per record "
        "says how its status changed, then a summary. Records that still fail stay "
        "failed and visible, and the command exits 0 unless --strict is given, so a "
        "partial replay is a result to read rather than a crash."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--status",
            action="append",
            choices=[status.value for status in REPLAYABLE],
            help="Replay records in this status (repeatable; default: failed, or "
            "any status but processed when --id is given).",
        )
        parser.add_argument(
            "--id",
            action="append",
            type=int,
            dest="ids",
            metavar="N",
            help="Replay this record (repeatable).",
        )
        parser.add_argument("--channel", help="Only records of this adapter key.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the records that would be replayed and change nothing.",
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="Exit with an error when any replayed record is still not processed.",
        )

    def handle(
        self,
        *args,
        status=None,
        ids=None,
        channel=None,
        dry_run=False,
        strict=False,
        **options,
    ):
        records, passed_over = self._select(statuses=status, ids=ids, channel=channel)
        for record in passed_over:
            self.stdout.write(f"{_describe(record)}: {record.status}, not replayed")
        if dry_run:
            for record in records:
                line = f"{_describe(record)}: {record.status}"
                line += f", attempts: {record.attempts}"
                if record.error:
                    line += f" ({_short(record.error)})"
                self.stdout.write(line)
            self.stdout.write(f"Would replay {_count(records)}.")
            return

        outcomes = {status.value: 0 for status in Status}
        for record in records:
            after = process_inbound(record.pk, replay=True)
            outcomes[after.status] += 1
            line = f"{_describe(record)}: {record.status} → {after.status}"
            if after.status != Status.PROCESSED and after.error:
                line += f" ({_short(after.error)})"
            self.stdout.write(line)

        summary = f"Replayed {_count(records)}"
        if records:
            summary += ": " + ", ".join(
                f"{count} {name}" for name, count in outcomes.items() if count
            )
        self.stdout.write(summary + ".")
        not_processed = len(records) - outcomes[Status.PROCESSED]
        if strict and not_processed:
            raise CommandError(
                f"{not_processed} of {_count(records)} still not processed"
            )

    def _select(self, *, statuses, ids, channel):
        """The records to replay, and those named by --id that the filters leave out."""
        records = InboundRecord.objects.defer("payload").order_by("pk")
        named = []
        if ids:
            named = list(records.filter(pk__in=ids))
            missing = sorted(set(ids) - {record.pk for record in named})
            if missing:
                raise CommandError(
                    "no inbound record with id " + ", ".join(map(str, missing))
                )
            records = records.filter(pk__in=ids)
        statuses = statuses or ([Status.FAILED] if not ids else list(REPLAYABLE))
        records = records.filter(status__in=statuses)
        if channel:
            records = records.filter(channel=channel)
        selected = list(records)
        chosen = {record.pk for record in selected}
        return selected, [record for record in named if record.pk not in chosen]
