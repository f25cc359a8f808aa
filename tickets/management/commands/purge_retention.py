from django.core.management.base import BaseCommand

from tickets.actions.retention import do_purge_retention


class Command(BaseCommand):
    help = (
        "Purge what is older than the retention ages (RETENTION_INBOUND_DAYS, "
        "RETENTION_ATTACHMENT_DAYS, RETENTION_RESOLVED_TICKET_DAYS), as the beat "
        "task does; with --dry-run only say what would go."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count, change nothing."
        )

    def handle(self, *args, dry_run: bool, **options) -> None:
        run = do_purge_retention(dry_run=dry_run)
        verb = "Would purge" if dry_run else "Purged"
        for kind, cutoff in run.cutoffs.items():
            label = kind.replace("_", " ")
            if cutoff is None:
                self.stdout.write(f"{label}: kept forever (no retention age set)")
                continue
            count = run.counts.get(kind, 0)
            self.stdout.write(
                f"{label}: {verb.lower()} {count}, older than {cutoff:%Y-%m-%d %H:%M}"
            )
        extra = {k: v for k, v in run.counts.items() if k not in run.cutoffs}
        for kind, count in extra.items():
            self.stdout.write(f"{kind.replace('_', ' ')}: {verb.lower()} {count}")
