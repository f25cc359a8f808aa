"""The database is the intake's queue: records are claimed, a claim runs out when
its worker dies, and each record is applied exactly once whoever finishes it."""

import json
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from channels_app import tasks
from channels_app.ingest import drain_inbound, process_inbound
from channels_app.models import InboundRecord
from tests.channels_app.meta_support import (
    VERSION,
    post_webhook,
    serve_media,
    whatsapp_example,
)
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)
Status = InboundRecord.Status


def stored(corpus_dir, name="text", **fields) -> InboundRecord:
    """A WhatsApp payload stored as the door stores it, with no wake-up sent."""
    payload = whatsapp_example(corpus_dir, "message", name)
    return InboundRecord.objects.create(
        channel="whatsapp",
        inbox="support",
        external_id=fields.pop("external_id", f"stored-{name}"),
        payload=json.dumps(payload).encode(),
        **fields,
    )


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def test_a_claim_held_by_a_live_worker_is_left_alone_and_taken_over_once_it_runs_out(
    on_postgres, whatsapp_inbox, corpus_dir, teams, settings
):
    settings.INBOUND_LEASE_SECONDS = 20
    record = stored(
        corpus_dir,
        status=Status.PROCESSING,
        claimed_at=ago(5),
        claim_token="a-worker-still-at-it",
        attempts=1,
    )

    assert drain_inbound() == 0
    assert process_inbound(record.pk).status == Status.PROCESSING

    # Its worker was killed: nothing renews the claim.
    InboundRecord.objects.filter(pk=record.pk).update(claimed_at=ago(21))
    assert drain_inbound() == 1

    record.refresh_from_db()
    assert (record.status, record.attempts) == (Status.PROCESSED, 2)
    assert TimelineEvent.objects.filter(kind="message_in").count() == 1


def test_a_worker_whose_claim_was_taken_over_writes_nothing(
    on_postgres, whatsapp_inbox, corpus_dir, graph, teams, settings
):
    """The first worker is still downloading when its lease runs out and a second
    worker takes the record over and finishes it; the first then applies nothing."""
    record = stored(corpus_dir, "document")
    serve_media(graph, content=b"%PDF-1.4 doc", info={"mime_type": "application/pdf"})
    media_info = graph.routes[("GET", f"/{VERSION}/")]
    taken_over = []

    def slow_media_info(request):
        if not taken_over:
            taken_over.append(True)
            settings.INBOUND_LEASE_SECONDS = 0
            taken_over.append(process_inbound(record.pk).status)
            settings.INBOUND_LEASE_SECONDS = 20
        return media_info(request)

    graph.route("GET", f"/{VERSION}/", slow_media_info)

    first = process_inbound(record.pk)

    assert taken_over == [True, Status.PROCESSED]
    record.refresh_from_db()
    assert (record.status, record.attempts) == (Status.PROCESSED, 2)
    assert first.status == Status.PROCESSED
    [event] = TimelineEvent.objects.filter(kind="message_in")
    assert record.event_ids == [event.pk]
    assert event.attachments.count() == 1
    assert Ticket.objects.count() == 1


def test_a_duplicate_delivery_of_a_waiting_record_wakes_a_worker_again(
    client, on_postgres, whatsapp_inbox, corpus_dir, teams
):
    payload = whatsapp_example(corpus_dir, "message", "text")
    # The first delivery was stored, and its wake-up lost with a Redis restart.
    with TestCase.captureOnCommitCallbacks(execute=False):
        first = post_webhook(client, "whatsapp", payload)
    record = InboundRecord.objects.get()
    assert first.json() == {"received": record.pk, "duplicate": False}
    InboundRecord.objects.filter(pk=record.pk).update(status=Status.RECEIVED)

    again = post_webhook(client, "whatsapp", payload)

    assert again.json() == {"received": record.pk, "duplicate": True}
    record.refresh_from_db()
    assert record.status == Status.PROCESSED
    assert TimelineEvent.objects.filter(kind="message_in").count() == 1


def test_the_sweep_takes_records_whose_wake_up_was_lost_and_leaves_fresh_ones(
    on_postgres, whatsapp_inbox, corpus_dir, teams, settings
):
    settings.INBOUND_SWEEP_SECONDS = 5
    lost = stored(corpus_dir, "text", external_id="lost")
    InboundRecord.objects.filter(pk=lost.pk).update(received_at=ago(6))
    fresh = stored(corpus_dir, "image", external_id="fresh")

    assert tasks.sweep_inbound() == 1

    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.status == Status.PROCESSED
    assert fresh.status == Status.RECEIVED


def test_a_record_no_attempt_could_finish_is_failed_visibly_and_can_be_replayed(
    on_postgres, whatsapp_inbox, corpus_dir, teams, settings
):
    settings.INBOUND_MAX_ATTEMPTS = 5
    record = stored(
        corpus_dir,
        status=Status.PROCESSING,
        claimed_at=ago(3600),
        claim_token="killed-every-time",
        attempts=5,
    )
    InboundRecord.objects.filter(pk=record.pk).update(received_at=ago(3600))

    tasks.sweep_inbound()

    record.refresh_from_db()
    assert record.status == Status.FAILED
    assert record.error.startswith("Gave up after 5 attempts")
    assert not TimelineEvent.objects.exists()
    assert process_inbound(record.pk, replay=True).status == Status.PROCESSED


def test_a_lost_database_connection_leaves_the_record_to_be_tried_again(
    on_postgres, whatsapp_inbox, corpus_dir, graph, teams
):
    """The media download answers while the worker's own connection is cut: the
    record is not failed but waits, and the next drain processes it."""
    record = stored(corpus_dir, "document")
    serve_media(graph, content=b"%PDF-1.4 doc", info={"mime_type": "application/pdf"})
    media_info = graph.routes[("GET", f"/{VERSION}/")]
    worker_pid = []

    def cut_then_answer(request):
        if len(worker_pid) == 1:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", worker_pid)
            connection.close()
            worker_pid.append("cut")
        return media_info(request)

    graph.route("GET", f"/{VERSION}/", cut_then_answer)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        worker_pid.append(cursor.fetchone()[0])

    first = process_inbound(record.pk)

    assert worker_pid[-1] == "cut"
    record.refresh_from_db()
    assert first.status == record.status == Status.RECEIVED
    assert "terminat" in record.error
    assert drain_inbound() == 1
    record.refresh_from_db()
    assert record.status == Status.PROCESSED
    assert TimelineEvent.objects.filter(kind="message_in").count() == 1


def test_a_download_longer_than_the_lease_keeps_its_claim(
    on_postgres, whatsapp_inbox, corpus_dir, graph, teams, settings
):
    """The claim is renewed while media downloads, so another worker does not
    take the record over from a worker that is alive, only slow."""
    settings.INBOUND_LEASE_SECONDS = 0.6
    record = stored(corpus_dir, "document")
    serve_media(graph, content=b"%PDF-1.4 doc", info={"mime_type": "application/pdf"})
    media_info = graph.routes[("GET", f"/{VERSION}/")]
    another_worker = []

    def slow_media_info(request):
        if not another_worker:
            time.sleep(1.2)  # two leases
            another_worker.append(process_inbound(record.pk).status)
            connection.close()
        return media_info(request)

    graph.route("GET", f"/{VERSION}/", slow_media_info)

    first = process_inbound(record.pk)

    assert another_worker == [Status.PROCESSING]
    assert (first.status, first.attempts) == (Status.PROCESSED, 1)
    assert TimelineEvent.objects.filter(kind="message_in").count() == 1
