"""Every change to webhook endpoints and deliveries goes through these functions:
the admin, the API and the delivery task only call them."""

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from channels_app.outbound_webhooks.outbox import forget_subscriptions
from channels_app.outbound_webhooks.targets import (
    TargetRefused,
    TargetUnreachable,
    check_target_url,
)
from channels_app.outbound_webhooks.tasks import deliver_webhook
from supportdesk.errors import ActionError
from supportdesk.events import WEBHOOK_EVENTS as EVENTS
from supportdesk.models import WebhookDelivery, WebhookEndpoint
from supportdesk.oncommit import enqueue_on_commit

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
MIN_SECRET_CHARS = 16


class WebhookConfigError(ActionError):
    """An endpoint's settings refused, with the field they concern."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_url(url: str) -> str:
    url = url.strip()
    try:
        check_target_url(url)
    except (TargetRefused, TargetUnreachable) as exc:
        raise WebhookConfigError("url", str(exc)) from None
    return url


def check_events(events: object) -> list[str]:
    if not isinstance(events, list | tuple) or not all(
        isinstance(name, str) for name in events
    ):
        raise WebhookConfigError("events", "events is a list of event names")
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise WebhookConfigError(
            "events", f"unknown events {unknown}; known: {sorted(EVENTS)}"
        )
    # Kept in the documented order, so lists compare and read alike.
    return [name for name in EVENTS if name in events]


def check_secret(secret: str) -> str:
    secret = secret.strip()
    if not MIN_SECRET_CHARS <= len(secret) <= 128:
        raise WebhookConfigError(
            "secret", f"a secret has {MIN_SECRET_CHARS} to 128 characters"
        )
    return secret


def _subscriptions_changed() -> None:
    # Now for the rest of this transaction, and again once others can see it.
    forget_subscriptions()
    transaction.on_commit(forget_subscriptions)


@transaction.atomic
def do_create_endpoint(
    *,
    url: str,
    events: list[str],
    description: str = "",
    secret: str = "",
    enabled: bool = True,
) -> WebhookEndpoint:
    """A new endpoint; without a secret one is generated. The caller shows the
    secret once: nothing reads it back afterwards."""
    endpoint = WebhookEndpoint.objects.create(
        url=check_url(url),
        events=check_events(events),
        description=description.strip()[:200],
        secret=check_secret(secret) if secret else "",
        enabled=enabled,
    )
    _subscriptions_changed()
    return endpoint


@transaction.atomic
def do_update_endpoint(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    secret: str | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given; None leaves a field as it is. A new secret signs
    every attempt from now on, pending retries included."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = check_url(url)
    if events is not None:
        changes["events"] = check_events(events)
    if description is not None:
        changes["description"] = description.strip()[:200]
    if secret is not None:
        changes["secret"] = check_secret(secret)
    if enabled is not None:
        changes["enabled"] = enabled
    changes = {k: v for k, v in changes.items() if getattr(endpoint, k) != v}
    if changes:
        for field, value in changes.items():
            setattr(endpoint, field, value)
        endpoint.save(update_fields=list(changes))
        _subscriptions_changed()
    return endpoint


@transaction.atomic
def do_delete_endpoint(*, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its delivery log; pending deliveries are dropped."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()
    _subscriptions_changed()


@transaction.atomic
def do_resend_delivery(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue a delivery again, whatever its state, with the same delivery id, so
    a receiver that has it already can tell. Starts a new round of attempts."""
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    delivery.status = Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    enqueue_on_commit(deliver_webhook, delivery.pk)
    return delivery
