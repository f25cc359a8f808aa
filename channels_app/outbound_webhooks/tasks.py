"""Thin Celery tasks of outbound webhooks: post a delivery, sweep lost ones."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from channels_app.outbound_webhooks.delivery import do_attempt_delivery
from supportdesk.models import WebhookDelivery

logger = logging.getLogger(__name__)

# Longer waits between attempts are left to the sweep: a task held past the
# broker's visibility timeout (ten minutes) would be handed out twice.
LONGEST_COUNTDOWN_SECONDS = 300
# A pending delivery this long past due has lost its task.
OVERDUE_SECONDS = 120


@shared_task(
    name="supportdesk.deliver_webhook",
    bind=True,
    # Attempts are counted on the delivery's row, against WEBHOOK_MAX_ATTEMPTS.
    max_retries=None,
    time_limit=90,
    soft_time_limit=75,
)
def deliver_webhook(self, delivery_pk: int) -> str:
    """Post one delivery if it is pending and due; a failure schedules the next
    attempt. Running it twice sends nothing twice."""
    outcome = do_attempt_delivery(delivery_id=delivery_pk)
    if outcome.retry_in is not None and outcome.retry_in <= LONGEST_COUNTDOWN_SECONDS:
        # Outside the transaction: the attempt's outcome is committed and shown.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(
    name="supportdesk.sweep_webhook_deliveries", time_limit=120, soft_time_limit=100
)
def sweep_webhook_deliveries(limit: int = 1000) -> int:
    """Queue the pending deliveries that are due and have no task waiting: those
    whose task was lost, and those whose next attempt is far off."""
    cutoff = timezone.now() - timedelta(seconds=OVERDUE_SECONDS)
    ids = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=cutoff
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    for delivery_pk in ids:
        deliver_webhook.delay(delivery_pk)
    if ids:
        logger.info("queued %d overdue webhook deliveries", len(ids))
    return len(ids)
