"""Shared by the WhatsApp, Messenger and Instagram tests: signed webhook posts,
corpus payloads, and the stand-in Graph API."""

import copy
import json
from pathlib import Path

import pytest
from django.test import TestCase

from channels_app.adapters.meta import hub_signature
from channels_app.models import InboundRecord, Inbox
from tests.provider_server import Reply

APP_SECRET = "app-secret-for-tests"
ACCESS_TOKEN = "graph-token-for-tests"
VERIFY_TOKEN = "verify-token-for-tests"
PHONE_NUMBER_ID = "1122334455667"
PAGE_ID = "5550001112223"
VERSION = "v21.0"


@pytest.fixture
def graph(provider_server, settings):
    """The stand-in Graph API, with the desk pointed at it."""
    settings.GRAPH_API_BASE_URL = provider_server.url
    settings.GRAPH_API_VERSION = VERSION
    return provider_server


@pytest.fixture
def whatsapp_inbox(db) -> Inbox:
    return Inbox.objects.create(
        adapter="whatsapp",
        name="WhatsApp support",
        slug="support",
        config={"phone_number_id": PHONE_NUMBER_ID, "waba_id": "102290129340398"},
        secrets={
            "app_secret": APP_SECRET,
            "access_token": ACCESS_TOKEN,
            "verify_token": VERIFY_TOKEN,
        },
    )


def page_inbox(adapter: str) -> Inbox:
    return Inbox.objects.create(
        adapter=adapter,
        name=f"{adapter.title()} support",
        slug="support",
        config={"page_id": PAGE_ID},
        secrets={
            "app_secret": APP_SECRET,
            "page_access_token": ACCESS_TOKEN,
            "verify_token": VERIFY_TOKEN,
        },
    )


def encode(payload) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def post_webhook(
    client,
    adapter: str,
    payload,
    *,
    signature: str | None = "valid",
    slug: str = "support",
):
    """POST a payload as Meta would, and run whatever it queues."""
    body = encode(payload)
    headers = {}
    if signature == "valid":
        headers["HTTP_X_HUB_SIGNATURE_256"] = hub_signature(APP_SECRET, body)
    elif signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            f"/webhooks/{adapter}/{slug}/",
            data=body,
            content_type="application/json",
            **headers,
        )


def delivered(client, adapter: str, payload) -> InboundRecord:
    """The stored record of a webhook accepted by the door."""
    response = post_webhook(client, adapter, payload)
    assert response.status_code == 200, response.content
    return InboundRecord.objects.get(pk=response.json()["received"])


# ------------------------------------------------------------------- corpus


def corpus_payloads(document, path=()):
    """Every webhook payload in a corpus file (files hold named examples)."""
    if isinstance(document, dict):
        if "object" in document and "entry" in document:
            yield "/".join(path) or "(top)", document
        for key, value in document.items():
            if key not in ("object", "entry"):
                yield from corpus_payloads(value, (*path, key))


def whatsapp_example(corpus_dir: Path, file: str, name: str) -> dict:
    """One named example of the WhatsApp corpus, as a fresh copy."""
    document = json.loads((corpus_dir / "whatsapp" / f"{file}.json").read_text())
    return copy.deepcopy(document[name])


def first_value(payload: dict) -> dict:
    return payload["entry"][0]["changes"][0]["value"]


def first_message(payload: dict) -> dict:
    return first_value(payload)["messages"][0]


def serve_media(
    graph,
    *,
    content: bytes = b"\x89PNG fake image bytes",
    content_type: str = "application/octet-stream",
    info: dict | None = None,
):
    """Graph answers every media id with a URL on the stand-in, which serves
    `content`."""

    def media_info(request):
        media_id = request.path.rsplit("/", 1)[-1]
        return Reply(
            body={
                "id": media_id,
                "url": f"{graph.url}/media/{media_id}",
                **(info or {}),
            }
        )

    graph.route("GET", f"/{VERSION}/", media_info)
    graph.route("GET", "/media/", Reply(body=content, content_type=content_type))
