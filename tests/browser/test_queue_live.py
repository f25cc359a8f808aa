"""The queue in a real browser: a message that arrives appears without a reload."""

import re
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from channels_app.adapters.meta import hub_signature
from tests.browser.conftest import save_docs_screenshot, wait_until_live
from tests.channels_app.meta_support import (
    APP_SECRET,
    encode,
    first_message,
    first_value,
    whatsapp_example,
    whatsapp_inbox,  # noqa: F401  (a fixture)
)
from tests.helpers import deliver, message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

SCREENSHOT = Path(settings.BASE_DIR) / "docs" / "queue.png"


def post_whatsapp(server_url: str, payload: dict) -> int:
    """POST a WhatsApp delivery to the server's webhook door, signed as Meta signs."""
    body = encode(payload)
    request = urllib.request.Request(
        f"{server_url}/webhooks/whatsapp/support/",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": hub_signature(APP_SECRET, body),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def whatsapp_text(corpus_dir, *, text: str, name: str, sender: str) -> dict:
    payload = whatsapp_example(corpus_dir, "message", "text")
    first_value(payload)["contacts"][0].update(profile={"name": name}, wa_id=sender)
    first_message(payload).update(
        {
            "from": sender,
            "id": f"wamid.browser-{sender}",
            "timestamp": str(int(time.time())),
            "text": {"body": text},
        }
    )
    return payload


def test_a_whatsapp_message_appears_in_the_queue_without_a_reload(
    open_page,
    desk_server,
    whatsapp_inbox,  # noqa: F811  (the fixture imported above)
    corpus_dir,
    teams,
    tech_agent,
):
    for n, (subject, name) in enumerate(
        [
            ("Invoice charged twice in March", "Lena Fischer"),
            ("Cannot reset my password", "Omar Haddad"),
            ("Router keeps dropping the connection", "Priya Natarajan"),
        ]
    ):
        deliver(
            message(
                "email",
                ("email", f"customer{n}@example.com"),
                subject=subject,
                sender_name=name,
                text=f"Hello, {subject.lower()}. Could you help?",
            )
        )
    page = open_page(tech_agent)
    expect(page.locator("#queue-body tr.ticket-row")).to_have_count(3)
    wait_until_live(page)
    # Gone should the page ever reload.
    page.evaluate("window.sameDocument = true")

    status = post_whatsapp(
        desk_server.url,
        whatsapp_text(
            corpus_dir,
            text="Hi! My order #4411 arrived damaged, what now?",
            name="Marta Silva",
            sender="351912345678",
        ),
    )
    assert status == 200

    # The worker ingests it and routes it to Technical support: the row arrives.
    rows = page.locator("#queue-body tr.ticket-row")
    expect(rows).to_have_count(4)
    arrived = rows.first
    expect(arrived).to_contain_text("Marta Silva")
    expect(arrived).to_contain_text("My order #4411 arrived damaged")
    expect(arrived.locator(".badge.ch-whatsapp")).to_have_text("WhatsApp")
    expect(arrived).to_contain_text("Technical support")
    assert page.evaluate("window.sameDocument") is True

    # The keyboard moves through the queue.
    page.keyboard.press("j")
    expect(arrived).to_have_class(re.compile(r"\bselected\b"))

    # The arrival highlight fades before the picture.
    save_docs_screenshot(page, SCREENSHOT, settle_ms=2600, full_page=True)

    # "?" lists the shortcuts; Escape closes the list.
    page.keyboard.press("?")
    overlay = page.locator("#shortcuts-overlay")
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("Next ticket")
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()

    # "/" goes to the search, and the list narrows in place as the agent types.
    page.keyboard.press("/")
    page.keyboard.type("router")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Priya Natarajan")
    assert page.evaluate("window.sameDocument") is True

    # Escape leaves the field; j selects, Enter opens the ticket.
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    ticket_id = rows.first.get_attribute("data-ticket-id")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{desk_server.url}/tickets/{ticket_id}/")
