from celery import shared_task
from django.db import OperationalError

from channels_app import ingest


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
