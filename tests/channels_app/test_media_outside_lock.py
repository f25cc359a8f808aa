"""A slow provider's media download holds no lock and no transaction: the record
can be read and locked by others, and the worker's connection is idle, while the
download runs."""

import json

import pytest
from django.db import connection, transaction

from channels_app.ingest import process_inbound
from channels_app.models import InboundRecord
from tests.channels_app.meta_support import VERSION, whatsapp_example
from tests.provider_server import Reply
from tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4 a document fetched slowly"


def test_the_record_is_not_locked_while_its_media_downloads(
    on_postgres, whatsapp_inbox, corpus_dir, graph, teams
):
    document = whatsapp_example(corpus_dir, "message", "document")
    record = InboundRecord.objects.create(
        channel="whatsapp",
        inbox="support",
        external_id="media-outside-the-lock",
        payload=json.dumps(document).encode(),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        worker_pid = cursor.fetchone()[0]
    seen = {}

    def media_info(request):
        # The stand-in's own thread, on a connection of its own: what another
        # worker or a supervisor's page would meet during the download.
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT state FROM pg_stat_activity WHERE pid = %s", [worker_pid]
                )
                seen["worker_connection"] = cursor.fetchone()[0]
            with transaction.atomic():
                seen["locked_by_another"] = (
                    InboundRecord.objects.select_for_update(nowait=True)
                    .filter(pk=record.pk)
                    .values_list("status", flat=True)
                    .get()
                )
        finally:
            connection.close()
        media_id = request.path.rsplit("/", 1)[-1]
        return Reply(
            body={
                "id": media_id,
                "url": f"{graph.url}/media/{media_id}",
                "mime_type": "application/pdf",
            }
        )

    graph.route("GET", f"/{VERSION}/", media_info)
    graph.route("GET", "/media/", Reply(body=PDF, content_type="application/pdf"))

    processed = process_inbound(record.pk)

    # Claimed by the worker, yet neither locked nor inside an open transaction.
    assert seen == {"worker_connection": "idle", "locked_by_another": "processing"}
    assert processed.status == InboundRecord.Status.PROCESSED, processed.error
    assert processed.attempts == 1
    event = TimelineEvent.objects.get(pk=processed.event_ids[0])
    assert bytes(event.attachments.get().data) == PDF
