"""The MTA pipe and the importer of saved mail: raw mails in, tickets out."""

import re
import sys
from collections import Counter
from collections.abc import Iterator
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from channels_app.email.parse import mail_message_id
from channels_app.email.raw import oversized_stand_in
from channels_app.ingest import process_inbound, receive_inbound
from channels_app.models import InboundRecord, Inbox

Status = InboundRecord.Status
MAX_ERROR_CHARS = 300
# sysexits.h: a temporary failure; a mail server keeps the mail and tries again.
EX_TEMPFAIL = 75
_BLANK_LINES = (b"\n", b"\r\n")
# mboxrd escapes a body line "From ..." as ">From ...", and ">From" as ">>From".
_ESCAPED_FROM = re.compile(rb"^>(>*From )")


def _short(error: str) -> str:
    line = " ".join(error.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"


def _named(source: str, raw: bytes) -> str:
    """Where a mail came from, and its Message-ID when it has one."""
    try:
        message_id = mail_message_id(raw)
    except Exception:  # an unreadable header names nothing more
        message_id = ""
    return f"{source} {message_id}" if message_id else source


def _mbox_messages(stream: BinaryIO) -> Iterator[bytes]:
    """The messages of an mbox whose first "From " line has been read: each ends
    where a "From " line follows a blank line."""
    lines: list[bytes] = []
    previous_blank = False
    for line in stream:
        if line.startswith(b"From ") and previous_blank:
            yield _mbox_message(lines)
            lines = []
        else:
            lines.append(_ESCAPED_FROM.sub(rb"\1", line))
        previous_blank = line in _BLANK_LINES
    yield _mbox_message(lines)


def _mbox_message(lines: list[bytes]) -> bytes:
    if lines and lines[-1] in _BLANK_LINES:
        lines = lines[:-1]  # the blank line that separates it from the next
    return b"".join(lines)


def mails_in(stream: BinaryIO) -> Iterator[bytes]:
    """The mails in a stream: one RFC 822 message, or every message of an mbox
    (a stream whose first line starts with "From ")."""
    first = stream.readline()
    if first.startswith(b"From "):
        yield from _mbox_messages(stream)
    else:
        yield first + stream.read()


class Command(BaseCommand):
    help = (
        "Store and process raw mails: RFC 822 files, mbox files (a first line "
        "starting with 'From '; every message in them), directories (every *.eml "
        "below them), or standard input when no path or '-' is given, as a mail "
        "server's pipe delivers it. Each mail is stored once, keyed by its "
        "Message-ID: a mail stored before counts as a duplicate and changes nothing. "
        "Each new mail is then processed by this command, so the summary says what "
        "became of it (with --queue it is left to the Celery workers). A mail that "
        "fails stays stored as a failed inbound record that replay_inbound can "
        "process again, and the command goes on with the next. A mail larger than "
        "MAX_INBOUND_PAYLOAD_BYTES is stored as its headers with a note saying so. "
        "Exit status: 0 when every mail was stored (processed or not; a mail "
        "whose queueing failed, Redis being down, is stored and processed later); "
        "75 (EX_TEMPFAIL) when any mail could not be stored, the database being "
        "out of reach say: each is named, and a mail server keeps it and delivers "
        "it again; 1 when a path cannot be read."
    )
    # Tests hand the command a stream in place of the process's standard input.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument(
            "paths",
            nargs="*",
            metavar="PATH",
            help="Files or directories; '-' is "
            "standard input, which is also read when no path is given.",
        )
        parser.add_argument(
            "--inbox",
            metavar="SLUG",
            default="",
            help="The email inbox (slug) the mails arrived at.",
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="Only store the mails and queue them for the Celery workers.",
        )

    def handle(self, *args, paths=(), inbox="", queue=False, **options):
        self.stdin = options.get("stdin") or sys.stdin.buffer
        self.inbox, self.queue, self.verbosity = inbox, queue, options["verbosity"]
        self.counts: Counter = Counter()
        # Set when no mail can be stored: each is still read, to be named.
        self.cannot_store = ""
        if inbox:
            try:
                known = Inbox.objects.filter(adapter="email", slug=inbox).exists()
            except DatabaseError as exc:
                self.cannot_store = str(exc)
            else:
                if not known:
                    raise CommandError(f"no email inbox has the slug {inbox!r}")
        self.not_stored: list[str] = []
        for path in paths or ["-"]:
            if path == "-":
                self._read("<stdin>", self.stdin)
                continue
            location = Path(path)
            files = [location]
            if location.is_dir():
                files = sorted(
                    p
                    for p in location.rglob("*")
                    if p.suffix.lower() == ".eml" and p.is_file()
                )
            for file in files:
                try:
                    with file.open("rb") as stream:
                        self._read(str(file), stream)
                except OSError as exc:
                    self.counts["unreadable"] += 1
                    self.stderr.write(f"cannot read {file}: {exc.strerror or exc}")
        self._summarise()
        if self.not_stored:
            raise CommandError(
                f"{len(self.not_stored)} mail(s) not stored, to be delivered again: "
                + ", ".join(self.not_stored),
                returncode=EX_TEMPFAIL,
            )
        if self.counts["unreadable"]:
            raise CommandError(f"{self.counts['unreadable']} path(s) could not be read")

    def _read(self, name: str, stream: BinaryIO) -> None:
        for number, raw in enumerate(mails_in(stream), start=1):
            self._ingest(name if number == 1 else f"{name} #{number}", raw)

    def _ingest(self, source: str, raw: bytes) -> None:
        self.counts["read"] += 1
        if not raw.strip():
            self.counts["empty"] += 1
            self.stdout.write(f"{source}: empty, skipped")
            return
        try:
            if self.cannot_store:
                raise DatabaseError(self.cannot_store)
            payload = self._storable(source, raw)
            record, created = receive_inbound(
                channel="email",
                payload=payload,
                external_id=mail_message_id(payload),
                inbox=self.inbox,
                content_type="message/rfc822",
            )
        except Exception as exc:
            # Nothing of it is kept: the whole mail must come again.
            self.counts["not stored"] += 1
            self.not_stored.append(_named(source, raw))
            self.stdout.write(f"{source}: not stored: {_short(str(exc))}")
            return
        if not created:
            self.counts["duplicate"] += 1
            if self.verbosity > 1:
                self.stdout.write(f"{source}: duplicate of record #{record.pk}")
            return
        self.counts["new"] += 1
        if self.queue:
            self.counts["queued"] += 1
            return
        try:
            record.refresh_from_db(fields=["status", "error"])
            if record.status == Status.RECEIVED:
                record = process_inbound(record.pk)
        except DatabaseError as exc:
            # Stored: a worker's sweep, or replay_inbound, processes it later.
            self.counts["unprocessed"] += 1
            self.stdout.write(
                f"{source}: stored as record #{record.pk}, not processed: "
                f"{_short(str(exc))}"
            )
            return
        self.counts[record.status] += 1
        if record.status != Status.PROCESSED:
            self.stdout.write(
                f"{source}: {record.status} (record #{record.pk}): "
                f"{_short(record.error)}"
            )
        elif self.verbosity > 1:
            self.stdout.write(f"{source}: processed (record #{record.pk})")

    def _storable(self, source: str, raw: bytes) -> bytes:
        """The mail, or for one too large to store a stand-in with its headers and a
        note saying so."""
        limit = settings.MAX_INBOUND_PAYLOAD_BYTES
        if len(raw) <= limit:
            return raw
        self.counts["oversized"] += 1
        return oversized_stand_in(
            BytesHeaderParser(policy=compat32).parsebytes(raw, headersonly=True),
            size=len(raw),
            limit=limit,
            where=f"It was handed to ingest_eml as {source}.",
        )

    def _summarise(self) -> None:
        counts = self.counts
        parts = [
            f"{counts['read']} mail(s) read",
            f"{counts['new']} new",
            f"{counts['duplicate']} duplicate(s)",
        ]
        if counts["not stored"]:
            parts.append(f"{counts['not stored']} not stored")
        if counts["empty"]:
            parts.append(f"{counts['empty']} empty")
        if counts["oversized"]:
            parts.append(f"{counts['oversized']} over the size limit (headers kept)")
        if self.queue:
            parts.append(f"{counts['queued']} queued")
        else:
            parts += [
                f"{counts[Status.PROCESSED]} processed",
                f"{counts[Status.FAILED]} failed",
            ]
            if counts[Status.UNSUPPORTED]:
                parts.append(f"{counts[Status.UNSUPPORTED]} unsupported")
            if counts["unprocessed"]:
                parts.append(f"{counts['unprocessed']} left for the workers")
        if counts["unreadable"]:
            parts.append(f"{counts['unreadable']} unreadable path(s)")
        self.stdout.write(", ".join(parts) + ".")
