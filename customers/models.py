from django.conf import settings
from django.db import models
from django.db.models import Q

from supportdesk import registry


class Customer(models.Model):
    """One person, reachable through any number of identities."""

    display_name = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=16, blank=True)
    segment = models.CharField(max_length=64, blank=True, db_index=True)
    tags = models.JSONField(default=list, blank=True)
    # Set while this customer's history lives on another one after a merge.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.display_name or f"Customer #{self.pk}"


class Identity(models.Model):
    """One way to reach a customer: (kind, normalised value), unique across the desk."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="identities"
    )
    kind = models.CharField(max_length=16, choices=registry.identity_kind_choices)
    value = models.CharField(max_length=320)
    display_name = models.CharField(max_length=200, blank=True)
    verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"
        ordering = ["kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class MergeSuggestion(models.Model):
    """Two customers that one message tied together; a supervisor decides."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "other"],
                condition=Q(status="pending"),
                name="merge_suggestion_one_pending_per_pair",
            ),
            models.CheckConstraint(
                condition=~Q(customer=models.F("other")),
                name="merge_suggestion_two_customers",
            ),
        ]

    def __str__(self) -> str:
        return f"merge {self.other_id} into {self.customer_id}? ({self.status})"


class CustomerMerge(models.Model):
    """A merge of `source` into `target`, with what it moved, so it can be undone."""

    source = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(blank=True)
    moved_identity_ids = models.JSONField(default=list)
    moved_ticket_ids = models.JSONField(default=list)
    moved_event_ids = models.JSONField(default=list)
    merged_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"customer {self.source_id} into {self.target_id}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None
