"""The doors while a backing service is out of reach, against a real desk server.

Redis down: a door that can store what it is given still stores it and answers
200 (its task is left to the sweeps), and rate limits let requests through.
PostgreSQL down: every door answers 503 with Retry-After, JSON where machines
knock, a short page for people; once the database is back the sender's retry is
stored.
"""

import json
import time
import uuid

import pytest
import requests
from django.db import connection

from channels_app.adapters.meta import hub_signature
from channels_app.models import InboundRecord, Inbox
from supportdesk.api.tokens import do_issue_api_token
from tests.channels_app.meta_support import (
    APP_SECRET,
    first_message,
    whatsapp_example,
    whatsapp_inbox,  # noqa: F401  (a fixture)
)
from tests.factories import AgentFactory
from tests.server import (
    free_port,
    layer_prefix,  # noqa: F401  (a fixture)
    serving_desk,
)
from tests.tcp_forwarder import TcpForwarder
from tests.worker import Worker, database_url, running_worker

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("whatsapp_inbox", "chat_inbox"),
]

# How long the desk may take to find the database again once it is back.
RECOVERY_SECONDS = 60


@pytest.fixture
def chat_inbox(db) -> Inbox:
    return Inbox.objects.create(adapter="chat", name="Shop chat", slug="shop")


@pytest.fixture
def api_key(db) -> str:
    return do_issue_api_token(user=AgentFactory(), name="crm", scopes=["read"])[1]


def whatsapp_post(server_url: str, payload: dict) -> requests.Response:
    """POST a payload to the WhatsApp inbox's webhook as Meta signs it."""
    body = json.dumps(payload).encode()
    return requests.post(
        f"{server_url}/webhooks/whatsapp/support/",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": hub_signature(APP_SECRET, body),
        },
        timeout=30,
    )


def text_message(corpus_dir, message_id: str) -> dict:
    payload = whatsapp_example(corpus_dir, "message", "text")
    first_message(payload)["id"] = message_id
    return payload


# ------------------------------------------------------------------ Redis down


def test_with_redis_out_of_reach_the_doors_store_and_answer_as_usual(
    api_key,
    corpus_dir,
    layer_prefix,  # noqa: F811
    tmp_path,
):
    """Accepting a message needs only PostgreSQL: the webhook is stored, answered
    200 and left `received` for the sweep; a visitor's chat opens; the API
    answers, its rate limit not counted."""
    nobody_listens = f"redis://127.0.0.1:{free_port()}/0"
    unused = Worker(queue=f"test-{uuid.uuid4().hex}", log=tmp_path / "worker.log")
    with serving_desk(
        worker=unused,
        layer_prefix=layer_prefix,
        log_dir=tmp_path,
        extra_env={"REDIS_URL": nobody_listens},
    ) as server:
        webhook = whatsapp_post(server.url, text_message(corpus_dir, "wamid.R1"))
        chat = requests.post(f"{server.url}/widget/shop/session", json={}, timeout=30)
        api = requests.get(
            f"{server.url}/api/v1/tickets/",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=30,
        )
        log = server.output()

    assert webhook.status_code == 200, webhook.text
    record = InboundRecord.objects.get(pk=webhook.json()["received"])
    assert record.status == InboundRecord.Status.RECEIVED
    assert "channels_app.process_inbound" in log
    assert "not queued" in log
    assert chat.status_code == 200, chat.text
    assert chat.json()["token"]
    assert api.status_code == 200, api.text


# -------------------------------------------------------------- PostgreSQL down


def test_with_postgresql_out_of_reach_the_doors_answer_503_until_it_is_back(
    api_key,
    corpus_dir,
    layer_prefix,  # noqa: F811
    tmp_path,
):
    settings_dict = connection.settings_dict
    forwarder = TcpForwarder(
        settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432)
    ).open()
    through_forwarder = database_url().replace(
        f"{forwarder.target[0]}:{forwarder.target[1]}", f"127.0.0.1:{forwarder.port}"
    )
    assert str(forwarder.port) in through_forwarder
    try:
        with (
            running_worker(tmp_path) as worker,
            serving_desk(
                worker=worker,
                layer_prefix=layer_prefix,
                log_dir=tmp_path,
                extra_env={
                    "DATABASE_URL": through_forwarder,
                    # As the Procfile's web process has it.
                    "DATABASE_POOL_SIZE": "2",
                    "DATABASE_POOL_TIMEOUT": "2",
                },
            ) as server,
        ):
            before = whatsapp_post(server.url, text_message(corpus_dir, "wamid.P1"))
            assert before.status_code == 200, before.text

            forwarder.close()
            payload = text_message(corpus_dir, "wamid.P2")
            webhook = whatsapp_post(server.url, payload)
            api = requests.get(
                f"{server.url}/api/v1/tickets/",
                headers={"Authorization": f"Bearer {api_key}"},
                timeout=30,
            )
            chat = requests.post(
                f"{server.url}/widget/shop/session", json={}, timeout=30
            )
            page = requests.get(
                f"{server.url}/queue/",
                cookies={"sessionid": "an-agent-session"},
                allow_redirects=False,
                timeout=30,
            )

            forwarder.open()
            retried = _retry_until_accepted(server.url, payload)
    finally:
        forwarder.close()

    assert webhook.status_code == 503
    assert webhook.headers["Retry-After"].isdigit()
    assert webhook.json()["error"] == "unavailable"
    assert api.status_code == 503
    assert api.headers["Retry-After"].isdigit()
    assert api.json()["error"]["code"] == "unavailable"
    assert chat.status_code == 503
    assert chat.json()["error"] == "unavailable"
    assert page.status_code == 503
    assert page.headers["Retry-After"].isdigit()
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Service unavailable" in page.text
    assert len(page.content) < 1000

    assert retried.status_code == 200, retried.text
    assert retried.json()["duplicate"] is False
    stored = InboundRecord.objects.filter(channel="whatsapp")
    assert stored.count() == 2
    assert stored.filter(pk=retried.json()["received"]).exists()


def _retry_until_accepted(server_url: str, payload: dict) -> requests.Response:
    """Send again, as a provider does, while the desk still answers 503."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        answer = whatsapp_post(server_url, payload)
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)
