"""The desk's own records: API tokens, webhooks, the audit, sign-in sessions."""

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A user's key to the REST API, limited to scopes. Only a hash is stored: the
    key is shown once, when it is made."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Write"
        ADMIN = "admin", "Admin"

    PREFIX = "sdk_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the key, to tell tokens apart in lists.
    key_start = models.CharField(max_length=12, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_start}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def allows(self, scope: str) -> bool:
        # Admin implies write, and write implies read.
        order = [self.Scope.READ, self.Scope.WRITE, self.Scope.ADMIN]
        granted = max((order.index(s) for s in self.scopes if s in order), default=-1)
        return granted >= order.index(scope)


class WebhookEndpoint(models.Model):
    """A URL that receives the desk's events, signed with its secret."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=128, default="", blank=True)
    events = models.JSONField(default=list, help_text="Event names; empty is none.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def save(self, *args, **kwargs):
        if not self.secret:
            self.secret = "whsec_" + secrets.token_urlsafe(32)
        super().save(*args, **kwargs)


class WebhookDelivery(models.Model):
    """One event for one endpoint, and every attempt to hand it over. Its id stays
    the same across retries and resends, so receivers can drop repeats."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a pending delivery is due; a periodic sweep queues it again should its
    # task be lost. Empty once it succeeded or failed.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"


class AuditEntry(models.Model):
    """Append-only: one thing done to the desk's data, by whom, when and why.

    `details` says what was done by counts and ids, never by the personal data it
    touched: an erasure's entry must not keep what it erased.
    """

    class Action(models.TextChoices):
        CUSTOMER_ERASED = "customer.erased", "Customer erased"
        RETENTION_PURGED = "retention.purged", "Retention purge"

    action = models.CharField(max_length=64, db_index=True)
    # Who did it; none for the desk's own scheduled work.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The actor's username then, kept should the account go.
    actor_name = models.CharField(max_length=150, blank=True)
    # Where the request came from, when it came over HTTP.
    address = models.GenericIPAddressField(null=True, blank=True)
    # What it was done to, as "customer #12".
    target = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.target} by {self.actor_name or 'the desk'}"


class SignInSession(models.Model):
    """One browser an agent is signed in on, for the list of their sessions.

    Keyed by the session's key: written when the session is first seen signed in
    and touched at most once a minute, so the list costs no write per request.
    """

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sign_in_sessions",
    )
    user_agent = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} on {self.user_agent[:40] or 'an unknown browser'}"
