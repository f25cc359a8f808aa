"""One attempt at posting a delivery, and what its outcome means for the next."""

import logging
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_app.outbound_webhooks import sending
from channels_app.outbound_webhooks.targets import (
    TargetRefused,
    TargetUnreachable,
    check_target_url,
)
from supportdesk.models import WebhookDelivery

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
# The longest wait between attempts.
MAX_RETRY_SECONDS = 3600


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
