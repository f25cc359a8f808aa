"""The supervisors' intake alert, their page of stuck and failed records with its
replay button, and /healthz/intake while the database is out of reach."""

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
import requests
from django.conf import settings
from django.test import Client, override_settings

from channels_app.models import InboundRecord
from supportdesk.celery import app
from tests.channels_app.test_intake_health import failed, waiting
from tests.helpers import deliver, message
from tests.server import (
    free_port,
    layer_prefix,  # noqa: F401  (a fixture)
    serving_desk,
)
from tests.worker import Worker
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

Status = InboundRecord.Status
PAYLOAD_WORD = "Zanzibar"


def alert_of(page) -> str:
    """The alert's words as a supervisor reads them; "" when there is none."""
    found = re.search(
        r'<p class="sv-alert" id="intake-alert"[^>]*>(.*?)</p>',
        page.content.decode(),
        re.S,
    )
    return re.sub(r"<[^>]+>", "", found.group(1)) if found else ""


@contextmanager
def no_worker_listening() -> Iterator[None]:
    """Tasks go to a queue no worker reads, as while every worker is down."""
    saved = app.conf.task_always_eager, app.conf.task_default_queue
    queue = f"test-nobody-{uuid.uuid4().hex}"
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = saved
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)
        client.close()


def rows_of(page) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-record="(\d+)"', page.content.decode())]


def test_no_alert_while_all_is_well(client, teams, supervisor):
    deliver(message("email", text="Hi"))
    waiting(text="Just arrived")
    client.force_login(supervisor)

    for url in ("/supervisor/teams/", "/supervisor/rules/", "/supervisor/audit/"):
        page = client.get(url)
        assert page.status_code == 200
        assert alert_of(page) == ""
    listing = client.get("/supervisor/intake/")
    assert rows_of(listing) == []
    assert "Nothing stuck or failed." in listing.content.decode()


def test_stuck_and_failed_records_raise_the_alert_on_supervisors_pages(
    client, teams, supervisor
):
    waiting(for_seconds=600)
    waiting(for_seconds=200)
    waiting(for_seconds=10)
    failed()
    client.force_login(supervisor)

    page = client.get("/supervisor/teams/")

    assert alert_of(page) == (
        "Intake: 2 messages waiting over 2 minutes · 1 failed. Review"
    )
    assert 'href="/supervisor/intake/">Review</a>' in page.content.decode()
    assert alert_of(client.get("/supervisor/rules/")) == alert_of(page)


@override_settings(INBOUND_STUCK_SECONDS=90)
def test_the_alert_names_the_threshold_in_force(client, teams, supervisor):
    waiting(for_seconds=100)
    client.force_login(supervisor)

    page = client.get("/supervisor/teams/")

    assert alert_of(page) == "Intake: 1 message waiting over 90 seconds. Review"


def test_the_review_page_lists_stuck_and_failed_records_but_never_payloads(
    client, teams, supervisor
):
    fine = deliver(message("email", text="Fine"))
    fresh = waiting(text=f"Fresh from {PAYLOAD_WORD}")
    stuck = waiting(for_seconds=600, text=f"Stuck in {PAYLOAD_WORD}")
    broken = failed(text=f"Failed in {PAYLOAD_WORD}")
    client.force_login(supervisor)

    page = client.get("/supervisor/intake/")

    assert page.status_code == 200
    assert rows_of(page) == [stuck.pk, broken.pk]
    assert fine.pk not in rows_of(page) and fresh.pk not in rows_of(page)
    html = page.content.decode()
    assert PAYLOAD_WORD not in html
    failed_row = html[html.index(f'data-record="{broken.pk}"') :]
    failed_row = failed_row[: failed_row.index("</tr>")]
    assert "Failed" in failed_row
    assert f">{broken.channel}<" in failed_row
    assert broken.error.splitlines()[0][:40] in failed_row
    assert 'data-count="stuck">1' in html
    assert 'data-count="failed">1' in html
    # The page is the alert's destination: it shows the counts, not the alert.
    assert alert_of(page) == ""


def test_the_review_page_is_paginated(client, teams, supervisor):
    records = [failed(text=f"Too long number {n}") for n in range(51)]
    client.force_login(supervisor)

    first = client.get("/supervisor/intake/")
    second = client.get("/supervisor/intake/?page=2")

    assert rows_of(first) == [record.pk for record in records[:50]]
    assert rows_of(second) == [records[50].pk]
    assert "Page 2 of 2" in second.content.decode()


@pytest.mark.django_db(transaction=True)
def test_replay_processes_a_failed_record_once_its_cause_is_fixed(
    client, teams, supervisor
):
    record = failed(text="Please call me back")
    client.force_login(supervisor)
    assert alert_of(client.get("/supervisor/teams/")).endswith("1 failed. Review")
    assert client.get("/healthz/intake").status_code == 503

    # The limit that failed it is lifted: the replay goes through.
    answer = client.post(
        f"/supervisor/intake/{record.pk}/replay/", {"page": "1"}, follow=True
    )

    assert answer.redirect_chain == [("/supervisor/intake/?page=1", 302)]
    assert f"Record #{record.pk} was processed." in answer.content.decode()
    record.refresh_from_db()
    assert record.status == Status.PROCESSED
    event = TimelineEvent.objects.get(kind="message_in")
    assert record.event_ids == [event.pk]
    assert event.text == "Please call me back"
    assert Ticket.objects.count() == 1
    assert rows_of(answer) == []
    assert alert_of(client.get("/supervisor/teams/")) == ""
    assert client.get("/healthz/intake").json()["status"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_replay_of_a_stuck_record_processes_it(client, teams, supervisor):
    with no_worker_listening():
        record = waiting(for_seconds=600, text="Is anyone there?")
    client.force_login(supervisor)
    assert alert_of(client.get("/supervisor/teams/")).startswith("Intake: 1 message")

    answer = client.post(f"/supervisor/intake/{record.pk}/replay/", follow=True)

    assert f"Record #{record.pk} was processed." in answer.content.decode()
    record.refresh_from_db()
    assert record.status == Status.PROCESSED
    assert alert_of(client.get("/supervisor/teams/")) == ""


def test_a_replay_that_fails_again_says_so_and_keeps_the_alert(
    client, teams, supervisor
):
    record = failed()
    client.force_login(supervisor)

    with override_settings(MAX_MESSAGE_TEXT_CHARS=10):
        answer = client.post(f"/supervisor/intake/{record.pk}/replay/", follow=True)

    html = answer.content.decode()
    assert f"Record #{record.pk} failed again:" in html
    record.refresh_from_db()
    assert (record.status, record.attempts) == (Status.FAILED, 2)
    assert rows_of(answer) == [record.pk]
    assert alert_of(client.get("/supervisor/teams/")).endswith("1 failed. Review")


def test_a_second_replay_of_a_processed_record_changes_nothing(
    client, teams, supervisor
):
    record = failed(text="Only once, please")
    client.force_login(supervisor)
    client.post(f"/supervisor/intake/{record.pk}/replay/")

    answer = client.post(f"/supervisor/intake/{record.pk}/replay/", follow=True)

    assert f"Record #{record.pk} needs no replay now." in answer.content.decode()
    record.refresh_from_db()
    assert (record.status, record.attempts) == (Status.PROCESSED, 2)
    assert TimelineEvent.objects.filter(kind="message_in").count() == 1


def test_an_agent_can_neither_see_the_records_nor_replay_them(
    client, teams, tech_agent
):
    record = failed()
    waiting(for_seconds=600)
    client.force_login(tech_agent)

    assert client.get("/supervisor/intake/").status_code == 403
    assert client.post(f"/supervisor/intake/{record.pk}/replay/").status_code == 403
    queue = client.get("/queue/")
    assert queue.status_code == 200
    assert alert_of(queue) == "" and "/supervisor/intake/" not in queue.content.decode()
    record.refresh_from_db()
    assert (record.status, record.attempts) == (Status.FAILED, 1)


def test_signed_out_visitors_are_sent_to_sign_in(client, teams):
    record = failed()

    page = client.get("/supervisor/intake/")
    replay = client.post(f"/supervisor/intake/{record.pk}/replay/")

    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert replay.status_code == 302 and replay["Location"].startswith("/login/")
    record.refresh_from_db()
    assert record.status == Status.FAILED


def test_replay_needs_the_csrf_token(teams, supervisor):
    record = failed()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(supervisor)

    forged = browser.post(f"/supervisor/intake/{record.pk}/replay/")

    assert forged.status_code == 403
    record.refresh_from_db()
    assert record.status == Status.FAILED
    page = browser.get("/supervisor/intake/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    replayed = browser.post(
        f"/supervisor/intake/{record.pk}/replay/", {"csrfmiddlewaretoken": token}
    )
    assert replayed.status_code == 302


def test_the_health_endpoint_shows_no_record_contents(client, teams):
    failed(text=f"Secret plans for {PAYLOAD_WORD}")

    answer = client.get("/healthz/intake")

    assert PAYLOAD_WORD not in answer.content.decode()
    assert set(answer.json()) == {
        "status",
        "waiting",
        "stuck",
        "failed",
        "oldest_stuck_seconds",
        "stuck_after_seconds",
    }


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_the_database_out_of_reach_the_intake_health_answers_503_json(
    layer_prefix,  # noqa: F811
    tmp_path,
):
    """Uptime checkers alert: a JSON 503 with Retry-After, while the liveness
    check, which touches no database, still answers."""
    nobody_listens = f"postgres://postgres@127.0.0.1:{free_port()}/supportdesk"
    unused = Worker(queue=f"test-{uuid.uuid4().hex}", log=tmp_path / "worker.log")
    with serving_desk(
        worker=unused,
        layer_prefix=layer_prefix,
        log_dir=tmp_path,
        extra_env={"DATABASE_URL": nobody_listens, "DATABASE_POOL_TIMEOUT": "2"},
    ) as server:
        intake = requests.get(f"{server.url}/healthz/intake", timeout=30)
        alive = requests.get(f"{server.url}/healthz", timeout=30)

    assert intake.status_code == 503
    assert intake.headers["Content-Type"] == "application/json"
    assert intake.headers["Retry-After"].isdigit()
    assert intake.json()["status"] == "unavailable"
    assert alive.status_code == 200
