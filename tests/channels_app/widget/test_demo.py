"""The demo shop page: the widget embedded with its one tag, on a demo desk only."""

import re
from html import unescape

import pytest
from django.test import Client

from channels_app.demo.inboxes import ensure_demo_inboxes
from channels_app.models import ChatVisitor, Inbox

pytestmark = pytest.mark.django_db

TAG = re.compile(r"<script (src=[^>]*)></script>")


@pytest.fixture
def demo_desk(settings):
    settings.DEMO_INBOXES_ENABLED = True
    ensure_demo_inboxes()


def script_tags(html: str) -> list[dict[str, str]]:
    """The attributes of every script tag the page runs."""
    tags = []
    for found in TAG.finditer(html):
        attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', found.group(1)))
        tags.append({name: unescape(value) for name, value in attributes.items()})
    return tags


def test_the_shop_page_embeds_the_widget_with_one_tag(demo_desk, client):
    page = client.get("/widget-demo/")

    assert page.status_code == 200
    html = page.content.decode()
    assert script_tags(html) == [
        {"src": "http://testserver/static/widget/loader.js", "data-inbox": "demo"}
    ]
    assert "async></script>" in html
    # The same tag is shown as text, for copying.
    assert "&lt;script src=&quot;http://testserver/static/widget/loader.js" in html


def test_the_signed_in_shopper_is_one_the_desk_verifies(demo_desk, client):
    """The page signs the shopper's id as a host site would; the widget's session
    takes it as a verified customer."""
    (tag,) = script_tags(client.get("/widget-demo/?as=ana").content.decode())
    user = {"id": tag["data-user-id"], "hash": tag["data-user-hash"]}
    user["ts"] = int(tag["data-user-ts"])

    session = Client().post(
        "/widget/demo/session",
        {"name": tag["data-user-name"], "user": user},
        content_type="application/json",
    )

    assert session.status_code == 200, session.content
    assert session.json()["visitor"]["verified"] is True
    assert ChatVisitor.objects.get(external_user_id="shop-1042").name == "Ana Lima"


def test_without_demo_mode_there_is_no_shop_page(demo_desk, settings, client):
    settings.DEMO_INBOXES_ENABLED = False

    assert client.get("/widget-demo/").status_code == 404


def test_without_the_demo_chat_inbox_there_is_no_shop_page(demo_desk, client):
    Inbox.objects.filter(adapter="chat", slug="demo").update(enabled=False)

    assert client.get("/widget-demo/").status_code == 404
