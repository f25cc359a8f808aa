"""`manage.py check --deploy` flags the demo's logins and its enabled inboxes."""

from io import StringIO

import pytest
from django.core.management import call_command

from channels_app.demo.desk import ensure_desk
from channels_app.demo.inboxes import ensure_demo_inboxes
from channels_app.models import Inbox
from tickets.models import Agent

pytestmark = pytest.mark.django_db


def deploy_check() -> str:
    out, err = StringIO(), StringIO()
    call_command("check", "--deploy", "--tag", "database", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def line_of(output: str, check_id: str) -> str:
    return next((line for line in output.splitlines() if check_id in line), "")


def test_a_desk_without_demo_data_passes():
    Agent.objects.create_superuser("admin", "boss@example.org", "a-long-password-1")

    assert "channels_app." not in deploy_check()


def test_the_demo_logins_are_flagged():
    ensure_desk()

    line = line_of(deploy_check(), "channels_app.W001")

    assert "admin" in line and "maya" in line and "tariq" in line


def test_an_admin_named_admin_with_the_demo_password_is_flagged():
    Agent.objects.create_superuser("admin", "boss@example.org", "demo-admin")

    assert "admin" in line_of(deploy_check(), "channels_app.W001")


def test_enabled_demo_inboxes_are_flagged_and_disabled_ones_are_not(settings):
    settings.DEMO_INBOXES_ENABLED = True
    ensure_demo_inboxes()

    line = line_of(deploy_check(), "channels_app.W002")
    assert "telegram" in line and "whatsapp" in line

    Inbox.objects.filter(slug="demo").update(enabled=False)
    assert "channels_app.W002" not in deploy_check()


def test_a_real_inbox_that_happens_to_be_called_demo_is_not_flagged():
    Inbox.objects.create(
        adapter="telegram",
        slug="demo",
        name="Our bot",
        secrets={"bot_token": "123:real", "secret_token": "real-secret"},
    )

    assert "channels_app.W002" not in deploy_check()
