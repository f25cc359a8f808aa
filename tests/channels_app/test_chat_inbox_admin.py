"""A chat inbox in the admin: the widget's look, pre-chat fields and allowed sites
as a form, the identity secret write-only, and the snippet to embed."""

import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from channels_app.admin import chat_field_name, inbox_secrets, secret_field_name
from channels_app.models import Inbox
from tests.factories import AgentFactory
from tickets.models import Agent

pytestmark = pytest.mark.django_db

SECRET = "stored-identity-secret-never-shown"
SNIPPET = (
    "&lt;script src=&quot;https://desk.example.com/static/widget/loader.js&quot; "
    "data-inbox=&quot;shop&quot; async&gt;&lt;/script&gt;"
)


@pytest.fixture(autouse=True)
def public_address(settings):
    settings.PUBLIC_BASE_URL = "https://desk.example.com"


@pytest.fixture
def shop(db) -> Inbox:
    return Inbox.objects.create(
        adapter=Inbox.Adapter.CHAT,
        name="Shop chat",
        slug="shop",
        config={
            "title": "Shop help",
            "color": "#123abc",
            "allowed_origins": ["https://shop.example"],
        },
        secrets={"identity_secret": SECRET},
    )


def change_url(inbox: Inbox) -> str:
    return f"/admin/channels_app/inbox/{inbox.pk}/change/"


def form_data(inbox: Inbox, **chat) -> dict:
    """What the chat inbox's change form posts: the chat fields given, every
    secret left blank."""
    data = {
        "adapter": inbox.adapter,
        "name": inbox.name,
        "slug": inbox.slug,
        "enabled": "on",
        "_save": "Save",
        chat_field_name("position"): "right",
        chat_field_name("name_field"): "required",
        chat_field_name("email_field"): "optional",
    }
    for adapter, names in inbox_secrets().items():
        for name in names:
            data[secret_field_name(adapter, name)] = ""
    data.update({chat_field_name(key): value for key, value in chat.items()})
    return data


def widget_config(inbox: Inbox) -> dict:
    """The settings the widget's iframe page hands to its script."""
    page = Client().get(f"/widget/{inbox.slug}/").content.decode()
    found = re.search(
        r'id="widget-config" type="application/json">(.*?)</script>', page
    )
    return json.loads(found.group(1))


def test_the_change_page_shows_the_embed_snippet_and_the_widget_fields(
    admin_client, shop
):
    html = admin_client.get(change_url(shop)).content.decode()

    assert SNIPPET in html
    assert 'value="Shop help"' in html and 'value="#123abc"' in html
    assert "\nhttps://shop.example</textarea>" in html
    # The raw JSON is replaced by the form on a chat inbox.
    assert 'name="config"' not in html


def test_the_identity_secret_is_write_only(admin_client, shop):
    html = admin_client.get(change_url(shop)).content.decode()

    assert SECRET not in html
    assert f'name="{secret_field_name("chat", "identity_secret")}"' in html
    assert "identity_secret" in html  # stored, by name only


def test_saved_settings_reach_the_widget(admin_client, shop):
    response = admin_client.post(
        change_url(shop),
        form_data(
            shop,
            title="Kettle & Leaf",
            greeting="Hello <there>",
            color="#0F766E",
            position="left",
            email_field="required",
            allowed_origins="https://Shop.Example:443/\n\nhttp://127.0.0.1:8123\n"
            "https://shop.example",
            identity_max_age="3600",
        ),
    )

    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.config["allowed_origins"] == [
        "https://shop.example",
        "http://127.0.0.1:8123",
    ]
    assert shop.config["identity_max_age"] == 3600
    assert shop.secrets == {"identity_secret": SECRET}
    config = widget_config(shop)
    assert config["title"] == "Kettle & Leaf" and config["greeting"] == "Hello <there>"
    assert (config["color"], config["position"]) == ("#0F766E", "left")
    assert (config["name_field"], config["email_field"]) == ("required", "required")


def test_a_blank_field_falls_back_to_the_widget_default(admin_client, shop):
    admin_client.post(change_url(shop), form_data(shop, title="", color=""))

    shop.refresh_from_db()
    assert "title" not in shop.config and "color" not in shop.config
    config = widget_config(shop)
    assert (config["title"], config["color"]) == ("Support", "#1f6feb")


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("color", "blue", "A colour is written #rrggbb"),
        ("color", "#12345g", "A colour is written #rrggbb"),
        ("allowed_origins", "shop.example", "shop.example is not a site"),
        ("allowed_origins", "*", "* is not a site"),
        ("allowed_origins", "ftp://shop.example", "ftp://shop.example is not a site"),
        ("identity_max_age", "5", "greater than or equal to 60"),
    ],
)
def test_a_wrong_value_is_refused_and_nothing_changes(
    admin_client, shop, field, value, error
):
    page = admin_client.post(
        change_url(shop),
        form_data(shop, title="Changed", **{field: value})
        | {secret_field_name("chat", "identity_secret"): "typed-new-secret"},
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert error in html
    assert "typed-new-secret" not in html
    shop.refresh_from_db()
    assert shop.config["title"] == "Shop help"
    assert shop.secrets == {"identity_secret": SECRET}


def test_a_typed_identity_secret_replaces_the_stored_one(admin_client, shop):
    field = secret_field_name("chat", "identity_secret")

    admin_client.post(
        change_url(shop), form_data(shop, title="Shop help") | {field: "rotated"}
    )

    shop.refresh_from_db()
    assert shop.secrets == {"identity_secret": "rotated"}


def test_a_new_chat_inbox_takes_the_widget_fields(admin_client):
    data = form_data(
        Inbox(adapter="chat", name="Help", slug="help"),
        greeting="Ask away",
        allowed_origins="https://help.example/",
    ) | {
        "config": "{}",
        secret_field_name("chat", "identity_secret"): "new-secret",
    }

    response = admin_client.post("/admin/channels_app/inbox/add/", data)

    assert response.status_code == 302
    inbox = Inbox.objects.get(slug="help")
    assert inbox.config["greeting"] == "Ask away"
    assert inbox.config["allowed_origins"] == ["https://help.example"]
    assert inbox.secrets == {"identity_secret": "new-secret"}
    page = admin_client.get(change_url(inbox)).content.decode()
    assert "data-inbox=&quot;help&quot;" in page


def test_another_kind_of_inbox_has_no_widget_fields_and_keeps_its_config(
    admin_client,
):
    bot = Inbox.objects.create(
        adapter="telegram", name="Bot", slug="bot", config={"color": "x"}
    )

    html = admin_client.get(change_url(bot)).content.decode()

    assert chat_field_name("color") not in html and "loader.js" not in html
    assert 'name="config"' in html


def test_a_viewer_sees_the_snippet_but_no_secret(shop):
    viewer = AgentFactory(username="viv", role=Agent.Role.SUPERVISOR, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_inbox"))
    client = Client()
    client.force_login(viewer)

    page = client.get(change_url(shop))

    assert page.status_code == 200
    html = page.content.decode()
    assert SNIPPET in html
    assert SECRET not in html and 'type="password"' not in html


def test_a_new_inbox_starts_from_the_widget_defaults(admin_client):
    html = admin_client.get("/admin/channels_app/inbox/add/").content.decode()

    fields = {
        key: re.search(
            rf'name="{chat_field_name(key)}"[^>]*>(.*?)</select>', html, re.DOTALL
        ).group(1)
        for key in ("position", "name_field", "email_field")
    }
    assert '<option value="right" selected>' in fields["position"]
    assert '<option value="required" selected>' in fields["name_field"]
    assert '<option value="optional" selected>' in fields["email_field"]
    assert 'placeholder="#1f6feb"' in html
