"""The embedded mode, end to end: SQLite, tasks inline, one ASGI process."""

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 60

# Runs inside `manage.py shell`: a supervisor to sign in as, and one message through
# the real door, so the page has a routed ticket to show.
SETUP = """
import json
from tickets.inbound import IdentityClaim, InboundMessage
from channels_app.ingest import submit_message
from tickets.models import Agent, Team, TimelineEvent

Agent.objects.filter(username="smoke").delete()
Agent.objects.create_user("smoke", password="smoke-pass-1", role="supervisor")
Team.objects.get_or_create(slug="smoke-team", defaults={"name": "Smoke team"})
record, _ = submit_message(InboundMessage(
    channel="email", external_id="smoke-1", subject="Embedded smoke",
    identities=(IdentityClaim("email", "smoke@example.com"),),
    text="Does the embedded desk work?", continues_open_conversation=False,
))
record.refresh_from_db()
event = TimelineEvent.objects.get(pk=record.event_ids[0])
print(json.dumps({
    "status": record.status, "customer_id": event.customer_id,
    "team": event.ticket.team.name if event.ticket.team else None,
}))
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embedded")


@pytest.fixture(scope="module")
def embedded_env(workdir):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CELERY_", "CHANNEL_LAYER_", "DATABASE_", "REDIS_"))
    }
    # Empty rather than absent, so a developer's .env cannot switch the mode back.
    env.update(
        DATABASE_URL="",
        REDIS_URL="",
        SQLITE_PATH=str(workdir / "desk.sqlite3"),
        DJANGO_SETTINGS_MODULE="supportdesk.settings",
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env, *args) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stderr}"
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"the server exited with {server.returncode}:\n{log.read_text()}"
            )
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            # Not listening yet, or still starting on a busy machine: ask again.
            pass
        time.sleep(0.2)
    pytest.fail(
        f"/healthz did not answer in {START_TIMEOUT_SECONDS}s:\n{log.read_text()}"
    )


@pytest.fixture(scope="module")
def embedded_server(embedded_env, workdir):
    """A migrated (and, when the command exists, seeded) desk served by daphne."""
    manage(embedded_env, "migrate", "--noinput")
    if "seed_demo" in manage(embedded_env, "help", "--commands").split():
        manage(embedded_env, "seed_demo")
    setup = json.loads(
        manage(embedded_env, "shell", "-c", SETUP).strip().splitlines()[-1]
    )

    port = free_port()
    log = workdir / "daphne.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                str(BIN / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "supportdesk.asgi:application",
            ],
            cwd=BASE_DIR,
            env=embedded_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, server, log)
        yield base, setup
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        print(f"--- server log ---\n{log.read_text(errors='replace')}")


def sign_in(base: str, username: str, password: str) -> tuple:
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(CookieJar())
    )
    with browser.open(f"{base}/login/", timeout=10) as response:
        form = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": username, "password": password}
    ).encode()
    with browser.open(f"{base}/login/", data=body, timeout=10) as response:
        return browser, response.url, response.read().decode()


def test_the_embedded_desk_serves_a_signed_in_agent_a_timeline(
    embedded_server, embedded_env
):
    base, setup = embedded_server
    # Ingested, processed and routed inline: no worker, no Redis.
    assert setup["status"] == "processed"
    assert setup["team"] is not None

    browser, landed_on, home = sign_in(base, "smoke", "smoke-pass-1")

    # Every desk user starts at the queue, which lists the routed ticket.
    assert landed_on.endswith("/queue/"), landed_on
    assert 'id="queue-body"' in home
    assert "smoke (Supervisor)" in home
    assert "Does the embedded desk work?" in home
    with browser.open(f"{base}/customers/{setup['customer_id']}/", timeout=10) as page:
        timeline = page.read().decode()
    assert "Does the embedded desk work?" in timeline
    assert setup["team"] in timeline

    with sqlite3.connect(embedded_env["SQLITE_PATH"]) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_embedded_desk_refuses_a_wrong_password(embedded_server):
    base, _ = embedded_server

    _, landed_on, page = sign_in(base, "smoke", "wrong")

    assert landed_on.endswith("/login/")
    assert "didn't match" in page
