from django.db import models


class InboundRecord(models.Model):
    """A raw payload as it arrived, stored before anything else looks at it."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
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
    attempts = models.PositiveIntegerField(default=0)
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

    def __str__(self) -> str:
        return f"{self.channel}:{self.external_id} ({self.status})"

    @property
    def payload_text(self) -> str:
        return bytes(self.payload).decode("utf-8", errors="replace")
