import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from channels_app.admin import inbox_secrets, secret_field_name
from channels_app.models import Inbox
from tests.factories import AgentFactory
from tickets.models import Agent

pytestmark = pytest.mark.django_db

BOT_TOKEN = "987654:stored-bot-token-never-shown"
SECRET_TOKEN = "stored-secret-token-never-shown"


@pytest.fixture
def bot(db) -> Inbox:
    return Inbox.objects.create(
        adapter="telegram",
        name="Support bot",
        slug="support-bot",
        secrets={"bot_token": BOT_TOKEN, "secret_token": SECRET_TOKEN},
    )


def change_url(inbox: Inbox) -> str:
    return f"/admin/channels_app/inbox/{inbox.pk}/change/"


def form_data(inbox: Inbox, **changes) -> dict:
    """What the change form posts with every secret field left blank."""
    data = {
        "adapter": inbox.adapter,
        "name": inbox.name,
        "slug": inbox.slug,
        "enabled": "on",
        "config": "{}",
        "_save": "Save",
    }
    for adapter, names in inbox_secrets().items():
        for name in names:
            data[secret_field_name(adapter, name)] = ""
    data.update(changes)
    return data


def test_the_change_page_never_shows_a_stored_secret(admin_client, bot):
    page = admin_client.get(change_url(bot))

    assert page.status_code == 200
    html = page.content.decode()
    assert BOT_TOKEN not in html and SECRET_TOKEN not in html
    assert "987654" not in html
    # Which secrets are stored is shown, by name only.
    assert "bot_token, secret_token" in html
    assert 'type="password"' in html


def test_the_list_shows_each_inbox_and_its_webhook_url(admin_client, bot, settings):
    settings.PUBLIC_BASE_URL = "https://desk.example.com"

    page = admin_client.get("/admin/channels_app/inbox/")

    html = page.content.decode()
    assert "Support bot" in html and "support-bot" in html
    assert "https://desk.example.com/webhooks/telegram/support-bot/" in html
    assert BOT_TOKEN not in html


def test_blank_secret_fields_keep_the_stored_values(admin_client, bot):
    response = admin_client.post(change_url(bot), form_data(bot, name="Renamed bot"))

    assert response.status_code == 302
    bot.refresh_from_db()
    assert bot.name == "Renamed bot"
    assert bot.secrets == {"bot_token": BOT_TOKEN, "secret_token": SECRET_TOKEN}


def test_a_filled_secret_field_replaces_only_that_secret(admin_client, bot):
    field = secret_field_name("telegram", "bot_token")

    admin_client.post(change_url(bot), form_data(bot, **{field: "111:new-token"}))

    bot.refresh_from_db()
    assert bot.secrets == {"bot_token": "111:new-token", "secret_token": SECRET_TOKEN}


def test_secret_fields_of_another_kind_of_inbox_are_ignored(admin_client, bot):
    other = secret_field_name("twilio-sms", "auth_token")

    admin_client.post(change_url(bot), form_data(bot, **{other: "twilio-token"}))

    bot.refresh_from_db()
    assert "auth_token" not in bot.secrets


def test_a_secret_can_be_forgotten(admin_client, bot):
    admin_client.post(change_url(bot), form_data(bot, forget_secrets=["secret_token"]))

    bot.refresh_from_db()
    assert bot.secrets == {"bot_token": BOT_TOKEN}


def test_a_form_shown_again_after_an_error_keeps_typed_secrets_hidden(
    admin_client, bot
):
    field = secret_field_name("telegram", "bot_token")

    page = admin_client.post(
        change_url(bot), form_data(bot, config="[1, 2]", **{field: "typed-secret"})
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert "The config is a JSON object." in html
    assert "typed-secret" not in html and BOT_TOKEN not in html
    bot.refresh_from_db()
    assert bot.secrets["bot_token"] == BOT_TOKEN


def test_a_new_inbox_is_created_with_its_secrets(admin_client):
    data = form_data(
        Inbox(adapter="twilio-sms", name="Texts", slug="texts"),
        config='{"account_sid": "AC1", "from_number": "+14155550100"}',
        **{secret_field_name("twilio-sms", "auth_token"): "tw-token"},
    )

    response = admin_client.post("/admin/channels_app/inbox/add/", data)

    assert response.status_code == 302
    inbox = Inbox.objects.get(slug="texts")
    assert inbox.secrets == {"auth_token": "tw-token"}
    assert inbox.config == {"account_sid": "AC1", "from_number": "+14155550100"}


def test_a_viewer_without_change_rights_sees_no_secret_fields(bot):
    viewer = AgentFactory(username="viv", role=Agent.Role.SUPERVISOR, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_inbox"))
    client = Client()
    client.force_login(viewer)

    page = client.get(change_url(bot))

    assert page.status_code == 200
    html = page.content.decode()
    assert BOT_TOKEN not in html and SECRET_TOKEN not in html
    assert 'type="password"' not in html
