from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from channels_app import ingest
from channels_app.email import imap
from channels_app.models import Inbox


@shared_task(
    name="channels_app.process_inbound",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=8,
    time_limit=120,
    soft_time_limit=100,
)
def process_inbound(record_id: int) -> str:
    return ingest.process_inbound(record_id).status


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
