"""Intake survives the faults of a running desk without a human: a worker killed
with kill -9, Redis killed and started again, the database connections cut.

Each test posts a stream of signed WhatsApp messages to a desk of real processes,
breaks one part in the middle of it, and then expects every message stored once,
processed once, its ticket routed once, and nothing left waiting, within the
bound the intake promises (a lease and a sweep after the fault ends).
"""

import json
import time
import uuid

import pytest
from django.db.models import Count

from channels_app.models import InboundRecord, Inbox
from tests.faults.desk import APP_SECRET, PHONE_NUMBER_ID, FaultDesk, Stream
from tickets.models import RouteChange, Ticket, TimelineEvent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

MESSAGES = 160
# A lease (3 s) and a sweep (1 s) after the fault ends, with room for a busy machine.
SETTLE_SECONDS = 45


@pytest.fixture
def desk(tmp_path, teams, on_postgres):
    Inbox.objects.create(
        adapter="whatsapp",
        name="WhatsApp support",
        slug="support",
        config={"phone_number_id": PHONE_NUMBER_ID},
        secrets={"app_secret": APP_SECRET, "access_token": "token"},
    )
    desk = FaultDesk(tmp_path, queue=f"faults-{uuid.uuid4().hex[:12]}")
    try:
        desk.start()
        yield desk
    finally:
        desk.stop()
        # Shown by pytest only when the test failed.
        print(desk.logs())


@pytest.fixture
def stream(desk, corpus_dir):
    template = json.loads((corpus_dir / "whatsapp" / "message.json").read_text())
    return Stream(desk=desk, template=template["text"], count=MESSAGES)


def settled(stream: Stream) -> dict:
    """Wait until every record is processed and every ticket routed; then what
    the database holds, for the assertions."""
    started = time.monotonic()
    deadline = started + SETTLE_SECONDS
    while time.monotonic() < deadline:
        records = InboundRecord.objects.count()
        waiting = InboundRecord.objects.exclude(status="processed").count()
        unrouted = Ticket.objects.filter(team__isnull=True).count()
        if records == stream.count and not waiting and not unrouted:
            break
        time.sleep(0.25)
    # For the record when run with -s: how long the desk took to catch up.
    print(f"settled {time.monotonic() - started:.1f}s after the last message")
    return {
        "stored": InboundRecord.objects.count(),
        "statuses": dict(
            InboundRecord.objects.values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        ),
        "wamids": set(
            TimelineEvent.objects.filter(kind="message_in").values_list(
                "external_id", flat=True
            )
        ),
        "events": TimelineEvent.objects.filter(kind="message_in").count(),
        "texts": sorted(
            TimelineEvent.objects.filter(kind="message_in").values_list(
                "text", flat=True
            )
        ),
        "one_event_each": all(
            len(ids) == 1
            for ids in InboundRecord.objects.values_list("event_ids", flat=True)
        ),
        "tickets": Ticket.objects.count(),
        "routes_per_ticket": set(
            Ticket.objects.annotate(n=Count("route_changes")).values_list(
                "n", flat=True
            )
        ),
    }


def assert_each_message_once(stream: Stream, state: dict) -> None:
    assert state["stored"] == stream.count
    assert state["statuses"] == {"processed": stream.count}
    assert state["wamids"] == {stream.wamid(n) for n in range(stream.count)}
    assert state["events"] == stream.count
    assert state["one_event_each"]
    assert state["texts"] == sorted(
        f"Message {n}: where is my parcel?" for n in range(stream.count)
    )
    # One conversation per sender, each routed to a team exactly once.
    assert state["tickets"] == stream.senders
    assert state["routes_per_ticket"] == {1}


def test_a_worker_killed_mid_stream_loses_and_doubles_nothing(desk, stream):
    stream.start()
    for round_ in range(3):
        stream.wait_until_sent(30 + round_ * 40)
        desk.worker.kill()
        time.sleep(0.5)
        desk.start_worker()
    stream.join()

    state = settled(stream)

    assert_each_message_once(stream, state)
    assert RouteChange.objects.count() == stream.senders


def test_redis_killed_and_started_again_mid_stream(desk, stream):
    stream.start()
    stream.wait_until_sent(40)
    desk.redis.kill()
    refused_before = stream.retries
    stream.wait_until_sent(80)
    # With Redis away, a webhook still needs only the database: stored, and 200.
    assert stream.retries == refused_before
    desk.redis.start()
    stream.join()

    state = settled(stream)

    assert_each_message_once(stream, state)
    # The worker and the beat rode it out: nobody started them again.
    assert desk.worker.alive() and desk.worker.starts == 1
    assert desk.beat.alive() and desk.beat.starts == 1


def test_database_connections_cut_mid_stream(desk, stream):
    stream.start()
    cut = 0
    for round_ in range(4):
        stream.wait_until_sent(30 + round_ * 30)
        cut += desk.cut_database_connections()
    stream.join()

    state = settled(stream)

    assert cut > 0
    assert_each_message_once(stream, state)
    # Every process came back by itself.
    assert all(process.alive() for process in desk.processes)
    assert all(process.starts == 1 for process in desk.processes)
