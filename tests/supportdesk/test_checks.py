"""`manage.py check --deploy` flags a weak key and each transport setting left off."""

import secrets
from io import StringIO

import pytest
from django.core.management import call_command

from supportdesk.secret_key import DEV_SECRET_KEY

# The demo-data checks share the security tag and read the database.
pytestmark = pytest.mark.django_db

SECURE = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "PUBLIC_BASE_URL": "https://desk.example.com",
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SECURE_SSL_REDIRECT": True,
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_HSTS_SECONDS": 31536000,
}


@pytest.fixture
def configured(settings):
    for name, value in SECURE.items():
        setattr(settings, name, value)
    return settings


def deploy_check() -> str:
    """What `check --deploy` prints of the desk's own checks."""
    out, err = StringIO(), StringIO()
    call_command("check", "--deploy", "--tag", "security", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def flagged(output: str) -> set[str]:
    return {
        line.split("(", 1)[1].split(")", 1)[0]
        for line in output.splitlines()
        if line.startswith("?: (supportdesk.")
    }


def test_the_configured_desk_passes(configured):
    assert flagged(deploy_check()) == set()


@pytest.mark.parametrize("key", [DEV_SECRET_KEY, "change-me", "x" * 60])
def test_a_published_or_weak_key_is_flagged(configured, key):
    configured.SECRET_KEY = key

    output = deploy_check()

    assert flagged(output) == {"supportdesk.W001"}
    assert "secrets.token_urlsafe(50)" in output


@pytest.mark.parametrize(
    "name, off",
    [
        ("SESSION_COOKIE_SECURE", False),
        ("CSRF_COOKIE_SECURE", False),
        ("SECURE_SSL_REDIRECT", False),
        ("SECURE_HSTS_SECONDS", 0),
        ("SECURE_PROXY_SSL_HEADER", None),
    ],
)
def test_each_transport_setting_left_off_is_named(configured, name, off):
    setattr(configured, name, off)

    output = deploy_check()

    assert flagged(output) == {"supportdesk.W002"}
    line = next(line for line in output.splitlines() if "supportdesk.W002" in line)
    assert line.endswith(f"Transport settings not set: {name}.")


def test_a_plain_http_public_address_is_flagged(configured):
    configured.PUBLIC_BASE_URL = "http://desk.example.com"

    assert flagged(deploy_check()) == {"supportdesk.W003"}
