"""A production start is safe by default: no built-in key, no demo logins, and a
desk configured as docs/operations.md says passes `manage.py check --deploy`."""

import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from channels_app.demo import LOGINS
from supportdesk.secret_key import DEV_SECRET_KEY
from tickets.models import Agent

GUIDE = settings.BASE_DIR / "docs" / "operations.md"


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _clean_env(**env) -> dict[str, str]:
    """This process's environment without the desk's settings, plus these."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH", "SYSTEMROOT")
    }
    # Empty rather than absent, so a developer's .env cannot fill them in. DEBUG
    # and DEMO are left out: empty, they would read as off rather than as unset.
    blank = dict.fromkeys(("SECRET_KEY", "DATABASE_URL", "REDIS_URL"), "")
    return {**kept, **blank, "DJANGO_SETTINGS_MODULE": "supportdesk.settings", **env}


def _production_env(**env) -> dict[str, str]:
    """The test database and Redis, as `make run` would be given them."""
    return _clean_env(
        **{
            "DATABASE_URL": _database_url(),
            "REDIS_URL": os.environ["REDIS_URL"],
            "CHANNEL_LAYER_PREFIX": os.environ.get("CHANNEL_LAYER_PREFIX", "asgi"),
            "CACHE_KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "desk"),
            **env,
        }
    )


def _documented_env() -> dict[str, str]:
    """The guide's environment, with this machine's database, Redis and a key in
    place of its placeholders."""
    return _production_env(
        **{
            **documented_environment(),
            "DATABASE_URL": _database_url(),
            "REDIS_URL": os.environ["REDIS_URL"],
            "SECRET_KEY": strong_key(),
        }
    )


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def strong_key() -> str:
    return secrets.token_urlsafe(50)


# ----------------------------------------------------------------- the key


@pytest.mark.parametrize(
    "key",
    ["", DEV_SECRET_KEY, "change-me", "django-insecure-" + "x1y2z3" * 10, "short"],
    ids=["unset", "built-in", "example file", "django's dev key", "too short"],
)
def test_with_debug_off_the_desk_refuses_to_start_on_a_weak_key(key):
    finished = manage(_production_env(DEBUG="0", SECRET_KEY=key), "check")

    assert finished.returncode != 0
    assert "ImproperlyConfigured" in finished.stderr
    assert "SECRET_KEY" in finished.stderr
    # The message says how to make a good one.
    assert "secrets.token_urlsafe(50)" in finished.stderr


def test_with_debug_off_and_a_strong_key_the_desk_starts():
    finished = manage(_production_env(DEBUG="0", SECRET_KEY=strong_key()), "check")

    assert finished.returncode == 0, finished.stderr


def test_the_embedded_desk_still_starts_without_a_key(tmp_path):
    env = _clean_env(SQLITE_PATH=str(tmp_path / "desk.sqlite3"))

    finished = manage(env, "check")

    assert finished.returncode == 0, finished.stderr


# ---------------------------------------------------------- no demo logins


@pytest.mark.django_db(transaction=True)
def test_the_production_start_seeds_no_demo_logins(client):
    """`make run` with DATABASE_URL and REDIS_URL set migrates and runs seed_demo;
    without DEMO=1 that leaves the desk empty, and the README's logins fail."""
    env = _production_env(SECRET_KEY=strong_key())

    migrated = manage(env, "migrate", "--noinput")
    seeded = manage(env, "seed_demo")

    assert migrated.returncode == 0, migrated.stderr
    assert seeded.returncode == 0, seeded.stderr
    assert "no demo data seeded" in seeded.stdout
    assert "demo-admin" not in seeded.stdout
    assert not Agent.objects.filter(
        username__in=[login.username for login in LOGINS]
    ).exists()
    for username, password in (("admin", "demo-admin"), ("maya", "demo-super")):
        page = client.post("/login/", {"username": username, "password": password})
        assert page.status_code == 200
        assert "_auth_user_id" not in client.session


def test_make_run_and_make_demo_run_the_same_seed_step():
    """The Makefile's run target seeds through seed_demo, which decides by DEMO;
    `make demo` is `make run` with DEMO=1."""
    makefile = (settings.BASE_DIR / "Makefile").read_text()

    assert re.search(r"^run: seed$", makefile, re.MULTILINE)
    seed = r"^seed: .*\n\t\$\(BIN\)/python manage.py seed_demo$"
    assert re.search(seed, makefile, re.MULTILINE)
    assert re.search(r"^demo:\n\t\$\(MAKE\) .*run DEMO=1$", makefile, re.MULTILINE)


# ------------------------------------------------- the documented settings


def documented_environment() -> dict[str, str]:
    """The NAME=value lines of the first sh block of "Going to production"."""
    text = GUIDE.read_text()
    section = text.split("\n## Going to production\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    pairs = re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", block, re.MULTILINE)
    assert len(pairs) >= 10
    return dict(pairs)


def test_the_guide_sets_every_transport_setting():
    documented = documented_environment()

    for name in (
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "PUBLIC_BASE_URL",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_HSTS_SECONDS",
    ):
        assert name in documented, name
    assert "DEBUG" not in documented and "DEMO" not in documented


# Runs inside `manage.py shell` with the documented settings: what a browser
# behind the proxy, and one that skips it, are answered.
BEHIND_THE_PROXY = """
from django.conf import settings
from django.test import Client
host = settings.ALLOWED_HOSTS[0]
plain = Client().get("/login/", HTTP_HOST=host)
proxied = Client().get("/login/", HTTP_HOST=host, HTTP_X_FORWARDED_PROTO="https")
health = Client().get("/healthz", HTTP_HOST=host)
print(plain.status_code, plain["Location"])
print(proxied.status_code, proxied["Strict-Transport-Security"])
print(" ".join(sorted(
    morsel.key for morsel in proxied.cookies.values() if morsel["secure"]
)))
print(health.status_code)
"""


@pytest.mark.django_db(transaction=True)
def test_a_desk_configured_as_the_guide_says_passes_check_deploy_silently():
    finished = manage(_documented_env(), "check", "--deploy", "--fail-level", "WARNING")

    assert finished.returncode == 0, finished.stderr
    assert "System check identified no issues (0 silenced)." in finished.stdout
    assert not finished.stderr


@pytest.mark.django_db(transaction=True)
def test_behind_the_guides_proxy_plain_http_is_redirected_and_cookies_are_secure():
    documented = documented_environment()
    host = documented["ALLOWED_HOSTS"].split(",")[0]

    finished = manage(_documented_env(), "shell", "-c", BEHIND_THE_PROXY)

    assert finished.returncode == 0, finished.stderr
    plain, proxied, secure_cookies, health = finished.stdout.splitlines()[-4:]
    assert plain == f"301 https://{host}/login/"
    status, hsts = proxied.split(" ", 1)
    assert status == "200"
    assert f"max-age={documented['SECURE_HSTS_SECONDS']}" in hsts
    assert "csrftoken" in secure_cookies.split()
    # A load balancer's health check reaches the process itself, in plain HTTP.
    assert health == "200"
