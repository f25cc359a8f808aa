"""Every change to webhook endpoints and deliveries goes through these functions:
the admin, the API and the delivery task only call them."""

import logging
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from supportdesk.errors import ActionError
from supportdesk.models import WebhookDelivery, WebhookEndpoint
from supportdesk.webhooks import sending
from supportdesk.webhooks.names import EVENTS
from supportdesk.webhooks.outbox import forget_subscriptions
from supportdesk.webhooks.targets import (
    TargetRefused,
    TargetUnreachable,
    check_target_url,
)

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
MIN_SECRET_CHARS = 16
# The longest wait between attempts.
MAX_RETRY_SECONDS = 3600


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


def check_events(events) -> list[str]:
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
    changes = {}
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
    from supportdesk.oncommit import enqueue_on_commit
    from supportdesk.tasks import deliver_webhook

    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    delivery.status = Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    enqueue_on_commit(deliver_webhook, delivery.pk)
    return delivery


# ----------------------------------------------------------------------- attempts


@dataclass(frozen=True)
class AttemptOutcome:
    status: str
    # Seconds until the next attempt; None when no attempt follows.
    retry_in: int | None = None


def retry_delay(attempts: int) -> int:
    """The wait after the n-th failed attempt: WEBHOOK_RETRY_SECONDS, then twice
    as long each time, an hour at most."""
    return min(MAX_RETRY_SECONDS, settings.WEBHOOK_RETRY_SECONDS * 2 ** (attempts - 1))


def do_attempt_delivery(*, delivery_id: int) -> AttemptOutcome:
    """Post a due pending delivery once and record the outcome.

    The row stays locked while the request is out, so a duplicate task waits and
    then finds it done: a delivery that succeeded is never sent again by a task
    (only by a resend). A delivery not due yet is left alone.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:  # its endpoint was deleted
            return AttemptOutcome("deleted")
        now = timezone.now()
        due = delivery.next_attempt_at is None or delivery.next_attempt_at <= now
        if delivery.status != Status.PENDING or not due:
            return AttemptOutcome(delivery.status)
        endpoint = delivery.endpoint
        if not endpoint.enabled:
            return _finish(delivery, Status.FAILED, error="the endpoint is disabled")
        try:
            error, status_code = _post(delivery)
        except TargetRefused as exc:
            # No attempt can change it: the URL's addresses are not allowed.
            _count_attempt(delivery, status_code=None)
            return _finish(delivery, Status.FAILED, error=f"refused: {exc}")
        _count_attempt(delivery, status_code=status_code)
        if error is None:
            delivery.delivered_at = delivery.last_attempt_at
            return _finish(delivery, Status.SUCCEEDED, error="")
        if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            return _finish(
                delivery,
                Status.FAILED,
                error=f"gave up after {delivery.attempts} attempts: {error}",
            )
        delay = retry_delay(delivery.attempts)
        delivery.next_attempt_at = delivery.last_attempt_at + timedelta(seconds=delay)
        delivery.last_error = f"attempt {delivery.attempts}: {error}"[:2000]
        delivery.save(update_fields=_ATTEMPT_FIELDS)
        logger.info(
            "webhook delivery %s not taken, retry in %ss: %s",
            delivery.delivery_id,
            delay,
            error,
        )
        return AttemptOutcome(delivery.status, retry_in=delay)


_ATTEMPT_FIELDS = [
    "status",
    "attempts",
    "last_status_code",
    "last_error",
    "last_attempt_at",
    "next_attempt_at",
    "delivered_at",
]


def _count_attempt(delivery: WebhookDelivery, *, status_code: int | None) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = timezone.now()
    delivery.last_status_code = status_code


def _post(delivery: WebhookDelivery) -> tuple[str | None, int | None]:
    """One signed POST: (None, status) when the receiver took it, otherwise words
    for what went wrong and the status, if any. TargetRefused when the URL's
    addresses are not allowed."""
    endpoint = delivery.endpoint
    body = sending.encode_body(delivery.payload)
    headers = sending.signed_headers(
        secret=endpoint.secret,
        event=delivery.event,
        delivery_id=str(delivery.delivery_id),
        body=body,
    )
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    try:
        check_target_url(endpoint.url)
        answer = sending.post(endpoint.url, body=body, headers=headers, timeout=timeout)
    except TargetUnreachable as exc:
        return str(exc), None
    except requests.RequestException as exc:
        return sending.describe_failure(exc, timeout=timeout), None
    if answer.ok:
        return None, answer.status_code
    words = f"HTTP {answer.status_code}"
    if 300 <= answer.status_code < 400:
        words += " (redirects are not followed)"
    elif answer.excerpt.strip():
        words += f": {answer.excerpt.strip()}"
    return words, answer.status_code


def _finish(delivery: WebhookDelivery, status: str, *, error: str) -> AttemptOutcome:
    delivery.status = status
    delivery.last_error = error[:2000]
    delivery.next_attempt_at = None
    delivery.save(update_fields=_ATTEMPT_FIELDS)
    if status == Status.FAILED:
        logger.warning("webhook delivery %s failed: %s", delivery.delivery_id, error)
    return AttemptOutcome(status)
