"""Mail in by IMAP polling: read what is new in an inbox's folder, store each mail
raw through the one inbound door, and remember how far the folder was read.

A poll fetches the Message-ID header of every new message first and the full
message only for mail the desk does not know yet, whichever door it came through.
It opens the folder read-only and peeks at bodies: it never sets a flag, deletes
or moves anything on the server.
"""

import logging
import re
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from channels_app.email.raw import message_id_of, oversized_stand_in
from channels_app.ingest import PayloadTooLargeError, receive_inbound
from channels_app.models import ImapCursor, InboundRecord, Inbox
from tickets.selectors import stored_external_ids

logger = logging.getLogger(__name__)

CHANNEL = "email"
TLS_MODES = ("ssl", "starttls", "none")
DEFAULT_FOLDER = "INBOX"
# A poll holds its folder at most this long: the hard time limit of its task.
POLL_LEASE = timedelta(seconds=300)
# Message-ID headers are read this many messages at a time ...
HEADER_BATCH = 200
# ... and whole messages in groups of at most this many bytes.
BODY_BATCH_BYTES = 8 * 1024 * 1024

MESSAGE_ID_ITEM = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
HEADER_ITEM = "BODY.PEEK[HEADER]"
BODY_ITEM = "BODY.PEEK[]"
SIZE_ITEM = "RFC822.SIZE"
_BYTES_REPR = re.compile(r"b(['\"])(.*)\1", re.DOTALL)


class ImapConfigError(ValueError):
    """An inbox whose IMAP settings are missing or invalid."""


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    tls: str
    user: str
    password: str
    folder: str
    # When set, a first read or a re-read of the folder only looks this far back.
    since_days: int | None = None

    @classmethod
    def of(cls, inbox: Inbox) -> "ImapSettings":
        config = inbox.config or {}
        host = str(config.get("imap_host") or "").strip()
        if not host:
            raise ImapConfigError(f"inbox {inbox.slug} has no imap_host")
        tls = str(config.get("imap_tls") or "ssl").strip().lower()
        if tls not in TLS_MODES:
            raise ImapConfigError(
                f"inbox {inbox.slug}: imap_tls must be one of {', '.join(TLS_MODES)}"
            )
        user = str(config.get("imap_user") or "").strip()
        password = inbox.secret("imap_password")
        if not user or not password:
            raise ImapConfigError(
                f"inbox {inbox.slug} needs imap_user and the imap_password secret"
            )
        try:
            port = int(config.get("imap_port") or (993 if tls == "ssl" else 143))
            since = config.get("imap_since_days")
            since_days = int(since) if since not in (None, "") else None
        except (TypeError, ValueError) as exc:
            raise ImapConfigError(f"inbox {inbox.slug}: {exc}") from None
        folder = str(config.get("imap_folder") or DEFAULT_FOLDER).strip()
        return cls(host, port, tls, user, password, folder, since_days)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class PollResult:
    """What one poll did; `error` says why it stopped early, if it did."""

    inbox: str
    folder: str = ""
    uidvalidity: int | None = None
    last_uid: int = 0
    # The server's UIDVALIDITY differed from the one the cursor was read under.
    resynced: bool = False
    # Another poll of the same folder was running: this one did nothing.
    busy: bool = False
    checked: int = 0
    stored: int = 0
    already_known: int = 0
    oversized: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def as_dict(self) -> dict:
        return asdict(self)


def pollable_inbox_ids() -> list[int]:
    """Enabled email inboxes with an IMAP host to poll."""
    return [
        inbox.pk
        for inbox in Inbox.objects.filter(adapter=Inbox.Adapter.EMAIL, enabled=True)
        if str((inbox.config or {}).get("imap_host") or "").strip()
    ]


def poll_inbox(inbox: Inbox) -> PollResult:
    """Store every mail new in the inbox's IMAP folder; never raises for a server
    that cannot be reached or refuses the login: the result says what went wrong."""
    result = PollResult(inbox=inbox.slug)
    try:
        config = ImapSettings.of(inbox)
    except ImapConfigError as exc:
        result.error = str(exc)
        return result
    result.folder = config.folder
    cursor = _claim(inbox, config.folder)
    if cursor is None:
        result.busy = True
        return result
    try:
        with _connected(config) as client:
            _FolderRead(client, inbox, cursor, config, result).run()
    except LoginError as exc:
        result.error = (
            f"login as {config.user} on {config.address} failed: {_said(exc)}"
        )
    except OSError as exc:  # refused, unreachable, timed out, TLS handshake
        result.error = f"cannot talk to {config.address}: {exc}"
    except IMAPClientError as exc:
        result.error = (
            f"IMAP error from {config.address} (folder {config.folder}): {_said(exc)}"
        )
    finally:
        _release(cursor)
    if result.error:
        logger.warning("IMAP poll of inbox %s: %s", inbox.slug, result.error)
    return result


# --------------------------------------------------------------------- the cursor


def _claim(inbox: Inbox, folder: str) -> ImapCursor | None:
    """The folder's cursor, held for this poll; None while another poll holds it."""
    cursor, _ = ImapCursor.objects.get_or_create(inbox=inbox, folder=folder)
    now = timezone.now()
    with transaction.atomic():
        cursor = ImapCursor.objects.select_for_update().get(pk=cursor.pk)
        if cursor.polling_until is not None and cursor.polling_until > now:
            return None
        # update(): holding the folder is not reading it, so updated_at stays.
        ImapCursor.objects.filter(pk=cursor.pk).update(polling_until=now + POLL_LEASE)
    return cursor


def _release(cursor: ImapCursor) -> None:
    ImapCursor.objects.filter(pk=cursor.pk).update(polling_until=None)


def _advance(cursor: ImapCursor, uidvalidity: int, last_uid: int) -> None:
    cursor.uidvalidity = uidvalidity
    cursor.last_uid = last_uid
    cursor.save(update_fields=["uidvalidity", "last_uid", "updated_at"])


# ----------------------------------------------------------------- the connection


@contextmanager
def _connected(config: ImapSettings) -> Iterator[IMAPClient]:
    context = ssl.create_default_context()
    client = IMAPClient(
        config.host,
        port=config.port,
        ssl=config.tls == "ssl",
        ssl_context=context if config.tls == "ssl" else None,
        timeout=settings.IMAP_TIMEOUT_SECONDS,
    )
    try:
        if config.tls == "starttls":
            client.starttls(context)
        client.login(config.user, config.password)
        yield client
    finally:
        try:
            client.logout()
        except (OSError, IMAPClientError):
            # An OSError here means the connection is gone already.
            with suppress(OSError):
                client.shutdown()


# ---------------------------------------------------------------------- reading


@dataclass
class _FolderRead:
    """One poll's reading of one folder, through a logged-in client."""

    client: IMAPClient
    inbox: Inbox
    cursor: ImapCursor
    config: ImapSettings
    result: PollResult
    # Message-IDs met in this read: a second copy in the folder is not fetched.
    seen: set[str] = field(default_factory=set)

    def run(self) -> None:
        status = self.client.select_folder(self.config.folder, readonly=True)
        uidvalidity = int(status[b"UIDVALIDITY"])
        self.result.uidvalidity = uidvalidity
        rescan = self.cursor.uidvalidity != uidvalidity
        # The first read of a folder is a scan too, but not a change of UIDVALIDITY.
        self.result.resynced = rescan and self.cursor.uidvalidity is not None
        after = 0 if rescan else self.cursor.last_uid
        self.result.last_uid = after
        uidnext = status.get(b"UIDNEXT")
        if not rescan and uidnext is not None and int(uidnext) <= after + 1:
            return
        criteria = ["UID", f"{after + 1}:*"]
        if rescan and self.config.since_days is not None:
            since = timezone.now().date() - timedelta(days=self.config.since_days)
            criteria += ["SINCE", since]
        # "n:*" always matches the highest UID, even when it is below n.
        uids = sorted(uid for uid in self.client.search(criteria) if uid > after)
        for batch in _chunks(uids, HEADER_BATCH):
            self._store_batch(batch)
            self.result.last_uid = batch[-1]
            _advance(self.cursor, uidvalidity, batch[-1])
        # Every UID below UIDNEXT was in the search: stored, known or too old.
        last_uid = max(self.result.last_uid, int(uidnext or 1) - 1)
        if rescan or last_uid != self.cursor.last_uid:
            self.result.last_uid = last_uid
            _advance(self.cursor, uidvalidity, last_uid)

    def _store_batch(self, uids: list[int]) -> None:
        result = self.result
        heads = self.client.fetch(uids, [MESSAGE_ID_ITEM, SIZE_ITEM])
        message_ids = {uid: _message_id(data) for uid, data in heads.items()}
        known = _known(message_ids.values())
        wanted, too_large = [], []
        for uid in uids:
            if uid not in heads:
                continue  # expunged since the search
            result.checked += 1
            message_id = message_ids[uid]
            if message_id and (message_id in known or message_id in self.seen):
                result.already_known += 1
                continue
            if message_id:
                self.seen.add(message_id)
            size = int(heads[uid].get(b"RFC822.SIZE") or 0)
            limit = settings.MAX_INBOUND_PAYLOAD_BYTES
            (too_large if size > limit else wanted).append((uid, message_id, size))
        for group in _by_size(wanted):
            bodies = self.client.fetch([uid for uid, _, _ in group], [BODY_ITEM])
            for uid, message_id, _ in group:
                raw = bodies.get(uid, {}).get(b"BODY[]")
                if raw is not None:
                    self._store(uid, message_id, raw)
        if too_large:
            heads = self.client.fetch([uid for uid, _, _ in too_large], [HEADER_ITEM])
            for uid, message_id, size in too_large:
                head = heads.get(uid, {}).get(b"BODY[HEADER]")
                if head is not None:
                    self._store_stand_in(uid, message_id, head, size)

    def _store(self, uid: int, message_id: str, raw: bytes) -> None:
        try:
            _, created = receive_inbound(
                channel=CHANNEL,
                payload=raw,
                external_id=message_id,
                inbox=self.inbox.slug,
                content_type="message/rfc822",
            )
        except PayloadTooLargeError:
            # The server's RFC822.SIZE was below the real size.
            self._store_stand_in(uid, message_id, raw, len(raw))
            return
        if created:
            self.result.stored += 1
        else:
            self.result.already_known += 1

    def _store_stand_in(self, uid: int, message_id: str, head: bytes, size: int):
        """Store the headers of a mail too large to keep, with a note (`head` may
        hold the whole mail: only its header block is read)."""
        config = self.config
        stand_in = oversized_stand_in(
            BytesHeaderParser(policy=compat32).parsebytes(head),
            size=size,
            limit=settings.MAX_INBOUND_PAYLOAD_BYTES,
            where=f"The whole mail stays in the IMAP folder {config.folder} "
            f"of {config.user} on {config.host} (UID {uid}).",
        )
        _, created = receive_inbound(
            channel=CHANNEL,
            payload=stand_in,
            external_id=message_id,
            inbox=self.inbox.slug,
            content_type="message/rfc822",
        )
        if created:
            self.result.oversized += 1
        else:
            self.result.already_known += 1


def _said(exc: Exception) -> str:
    """The server's words in an imaplib error, without the repr of bytes."""
    text = str(exc)
    bytes_repr = _BYTES_REPR.fullmatch(text)
    return bytes_repr.group(2) if bytes_repr else text


def _message_id(data: dict) -> str:
    for key, value in data.items():
        if key.startswith(b"BODY[HEADER.FIELDS") and value:
            return message_id_of(
                BytesHeaderParser(policy=compat32).parsebytes(value)["Message-ID"]
            )
    return ""


def _known(message_ids: Iterable[str]) -> set[str]:
    """Those of these Message-IDs already stored raw or already on a timeline."""
    wanted = {message_id for message_id in message_ids if message_id}
    if not wanted:
        return set()
    stored = InboundRecord.objects.filter(channel=CHANNEL, external_id__in=wanted)
    on_timeline = stored_external_ids(channel=CHANNEL, external_ids=wanted)
    return set(stored.values_list("external_id", flat=True)) | on_timeline


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _by_size(items: list[tuple[int, str, int]]) -> Iterator[list]:
    """Groups of messages to fetch together, each within BODY_BATCH_BYTES (a larger
    message goes alone)."""
    group, total = [], 0
    for item in items:
        if group and total + item[2] > BODY_BATCH_BYTES:
            yield group
            group, total = [], 0
        group.append(item)
        total += item[2]
    if group:
        yield group
