import uuid

from django.db import models

from supportdesk import registry
from supportdesk.channel_names import AdapterKey


class InboundRecord(models.Model):
    """A raw payload as it arrived, stored before anything else looks at it.

    The table is the intake's queue: a worker claims records that are `received`
    (or `processing` under a claim older than the lease, whose worker died) and
    processes them; a Celery message only wakes a worker up, so losing one loses
    nothing (channels_app.ingest).
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        UNSUPPORTED = "unsupported", "Unsupported"

    # The key of the adapter that parses the payload.
    channel = models.CharField(max_length=32)
    external_id = models.CharField(max_length=255)
    inbox = models.CharField(max_length=64, blank=True)
    content_type = models.CharField(max_length=127, default="application/json")
    payload = models.BinaryField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    error = models.TextField(blank=True)
    # Claims so far: one is counted each time a worker takes the record.
    attempts = models.PositiveIntegerField(default=0)
    # The last claim: when it was taken (or renewed), and the token its worker
    # holds; a worker whose claim was taken over writes nothing.
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    event_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="inbound_record_unique"
            ),
        ]
        indexes = [
            # What the workers claim, oldest first: a small part of the table.
            models.Index(
                fields=["id"],
                condition=models.Q(status__in=["received", "processing"]),
                name="inbound_record_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.external_id} ({self.status})"

    @property
    def payload_text(self) -> str:
        return bytes(self.payload).decode("utf-8", errors="replace")


class Inbox(models.Model):
    """A configured channel: which adapter serves it, its settings and secrets.

    Secrets (app secrets, tokens, passwords) are write-only: the admin never shows
    them back.
    """

    # Names of the built-in adapters; which adapters an inbox can have is the
    # registry's word, so a new one in settings needs no migration.
    Adapter = AdapterKey

    adapter = models.CharField(max_length=32, choices=registry.inbox_adapter_choices)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=64)
    enabled = models.BooleanField(default=True)
    config = models.JSONField(
        default=dict, blank=True, help_text="Non-secret settings."
    )
    secrets = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "inboxes"
        ordering = ["adapter", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["adapter", "slug"], name="inbox_unique_slug"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_adapter_display()})"

    def secret(self, name: str) -> str:
        return str(self.secrets.get(name) or "")


class ImapCursor(models.Model):
    """How far the desk has read one IMAP folder of an inbox.

    UIDs mean something only under the UIDVALIDITY they were read with: when the
    server reports another one, the folder is read again from the start and the
    Message-IDs already stored keep anything from being stored twice.
    """

    inbox = models.ForeignKey(
        Inbox, on_delete=models.CASCADE, related_name="imap_cursors"
    )
    folder = models.CharField(max_length=255)
    uidvalidity = models.PositiveBigIntegerField(null=True, blank=True)
    last_uid = models.PositiveBigIntegerField(default=0)
    # Claimed by a running poll until then, so two polls never read one folder.
    polling_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["inbox", "folder"], name="imap_cursor_unique_folder"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inbox.slug}/{self.folder}: {self.uidvalidity}:{self.last_uid}"


class ChatVisitor(models.Model):
    """One browser, or one verified user of the host site, chatting through a chat
    inbox. Everything the widget shows this visitor is a numbered ChatEntry.

    The visitor's web identity is `identity_value`; the customer behind it is found
    through that identity, so merges move the visitor along with it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="visitors")
    # Set only from a verified HMAC of the host site's user id.
    external_user_id = models.CharField(max_length=255, blank=True)
    identity_value = models.CharField(max_length=320, unique=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    # The last entry numbered for this visitor: entries are 1..last_seq, no gaps.
    last_seq = models.PositiveIntegerField(default=0)
    # Up to which entry agents have read the visitor's messages, and the visitor
    # the agents' ones.
    agent_read_seq = models.PositiveIntegerField(default=0)
    visitor_read_seq = models.PositiveIntegerField(default=0)
    visitor_delivered_seq = models.PositiveIntegerField(default=0)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["inbox", "external_user_id"],
                condition=~models.Q(external_user_id=""),
                name="chat_visitor_unique_user",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or f"visitor {str(self.public_id)[:8]}"

    @property
    def verified(self) -> bool:
        return bool(self.external_user_id)


class ChatEntry(models.Model):
    """One numbered item of a visitor's chat: a message either way, a resolution,
    a rating. The widget replays entries by number, so none is lost or doubled."""

    class Kind(models.TextChoices):
        MESSAGE = "message", "Message"
        RESOLVED = "resolved", "Resolved"
        RATING = "rating", "Rating"

    visitor = models.ForeignKey(
        ChatVisitor, on_delete=models.CASCADE, related_name="entries"
    )
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    event = models.OneToOneField(
        "tickets.TimelineEvent",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="chat_entry",
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["visitor", "seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["visitor", "seq"], name="chat_entry_unique_seq"
            ),
        ]
        verbose_name_plural = "chat entries"

    def __str__(self) -> str:
        return f"{self.visitor_id}#{self.seq} {self.kind}"
