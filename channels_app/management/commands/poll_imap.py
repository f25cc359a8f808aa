"""Poll email inboxes' IMAP folders now, in this process, instead of waiting for
the beat schedule: for a first import, a check of new settings, or cron."""

from django.core.management.base import BaseCommand, CommandError

from channels_app.email.imap import poll_inbox, pollable_inbox_ids
from channels_app.models import Inbox


class Command(BaseCommand):
    help = (
        "Poll the IMAP folder of every enabled email inbox that has an imap_host, "
        "or of the inboxes named by --inbox, and print what each poll did. Exits "
        "with an error when any poll failed (after polling the others)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--inbox",
            action="append",
            dest="slugs",
            metavar="SLUG",
            help="Poll this email inbox (repeatable; default: every pollable one).",
        )

    def handle(self, *args, slugs=None, **options):
        inboxes = Inbox.objects.filter(adapter=Inbox.Adapter.EMAIL).order_by("slug")
        if slugs:
            inboxes = list(inboxes.filter(slug__in=slugs))
            missing = sorted(set(slugs) - {inbox.slug for inbox in inboxes})
            if missing:
                raise CommandError("no email inbox " + ", ".join(missing))
        else:
            inboxes = list(inboxes.filter(pk__in=pollable_inbox_ids()))
        failed = []
        for inbox in inboxes:
            result = poll_inbox(inbox)
            if result.error:
                failed.append(inbox.slug)
                self.stdout.write(f"{inbox.slug}: failed: {result.error}")
            elif result.busy:
                self.stdout.write(f"{inbox.slug}: another poll is reading it")
            else:
                line = (
                    f"{inbox.slug}/{result.folder}: {result.checked} checked, "
                    f"{result.stored} stored, {result.already_known} already known"
                )
                if result.oversized:
                    line += f", {result.oversized} over the size limit"
                if result.resynced:
                    line += " (UIDVALIDITY changed: folder read again)"
                self.stdout.write(line + ".")
        if failed:
            raise CommandError("polling failed for " + ", ".join(failed))
