import logging
import math

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import OperationalError

from channels_app import ingest
from channels_app.email import imap
from channels_app.models import Inbox

logger = logging.getLogger(__name__)
# Drains the sweep queues at most at once: enough for every worker process of a
# few workers, few enough that a backlog leaves room for fresh messages.
MAX_SWEEP_DRAINS = 4


@shared_task(
    name="channels_app.process_inbound",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=8,
    time_limit=120,
    soft_time_limit=100,
)
def process_inbound(record_id: int) -> str:
    """The wake-up for one stored record. The record waits in the database, not in
    this message: should the message be lost, the sweep finds the record."""
    return ingest.process_inbound(record_id).status


@shared_task(
    name="channels_app.drain_inbound",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    time_limit=120,
    soft_time_limit=100,
)
def drain_inbound(older_than: float = 0.0) -> int:
    return ingest.drain_inbound(older_than=older_than)


@shared_task(name="channels_app.sweep_inbound", time_limit=60, soft_time_limit=50)
def sweep_inbound() -> int:
    """Beat, and every worker as it starts: queue drains for records waiting
    longer than a sweep's interval (a lost wake-up, a worker that died holding
    them, a broker restarted); give up on records no attempt could finish."""
    ingest.give_up_exhausted()
    interval = settings.INBOUND_SWEEP_SECONDS
    waiting = ingest.waiting_count(older_than=interval)
    drains = min(MAX_SWEEP_DRAINS, math.ceil(waiting / settings.INBOUND_CLAIM_BATCH))
    for _ in range(drains):
        # A drain still queued when the next sweep is due is dropped, not stacked.
        drain_inbound.apply_async((interval,), expires=interval * 2)
    if waiting:
        logger.warning(
            "%d inbound records waited over %ss: draining", waiting, interval
        )
    return waiting


@worker_ready.connect
def _sweep_on_start(sender=None, **kwargs) -> None:
    """A worker that starts takes up what was left waiting while none ran."""
    try:
        sweep_inbound.delay()
    except Exception:  # the beat's sweep comes anyway
        logger.warning("could not queue the start-up sweep", exc_info=True)


@shared_task(
    name="channels_app.poll_imap_inbox",
    # The hard limit matches imap.POLL_LEASE: a killed poll frees its folder then.
    time_limit=300,
    soft_time_limit=270,
)
def poll_imap_inbox(inbox_id: int) -> dict:
    inbox = Inbox.objects.filter(
        pk=inbox_id, adapter=Inbox.Adapter.EMAIL, enabled=True
    ).first()
    if inbox is None:
        return {"inbox_id": inbox_id, "skipped": "no enabled email inbox"}
    return imap.poll_inbox(inbox).as_dict()


@shared_task(name="channels_app.poll_imap_inboxes", time_limit=60, soft_time_limit=50)
def poll_imap_inboxes() -> int:
    """Beat: queue a poll of every enabled email inbox that has an IMAP host."""
    inbox_ids = imap.pollable_inbox_ids()
    for inbox_id in inbox_ids:
        # A poll still queued when the next round is due is dropped, not stacked.
        poll_imap_inbox.apply_async((inbox_id,), expires=settings.IMAP_POLL_SECONDS)
    return len(inbox_ids)
