"""Browser tests: headless Chromium against a real desk server process.

The server (daphne) and a Celery worker (tests/worker.py) talk to this run's test
database and to Redis under a channel-layer prefix of this run's own, so events of
other runs on the same Redis never reach these pages. Tests here need
`django_db(transaction=True)`: the server sees only what the test commits.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from playwright.sync_api import expect

from tests.worker import Worker, database_url

BASE_DIR = Path(settings.BASE_DIR)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
READY_TIMEOUT_SECONDS = 30
# How long a page may take to show what the test waits for (a worker's round trip
# included); a bound for a hung run, not a performance target.
UI_TIMEOUT_MS = 20_000
# The same bound for every `expect(...)` assertion: live updates cross a worker, the
# channel layer and a socket, and a busy machine can take longer than the default.
expect.set_options(timeout=UI_TIMEOUT_MS)


@dataclass(frozen=True)
class DeskServer:
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture(scope="module")
def layer_prefix():
    """A channel-layer prefix for this module's server, worker and test process;
    the environment is restored for the modules after it."""
    prefix = f"test-browser-{uuid.uuid4().hex[:10]}"
    saved = os.environ.get("CHANNEL_LAYER_PREFIX")
    # The worker fixture hands this process's environment to the worker.
    os.environ["CHANNEL_LAYER_PREFIX"] = prefix
    yield prefix
    if saved is None:
        os.environ.pop("CHANNEL_LAYER_PREFIX", None)
    else:
        os.environ["CHANNEL_LAYER_PREFIX"] = saved
    _delete_keys(f"{prefix}*")


@pytest.fixture(autouse=True)
def _same_layer_here(layer_prefix):
    """What the test process itself publishes reaches the same groups."""
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": settings.REDIS_URL, "socket_timeout": None}],
                "prefix": layer_prefix,
            },
        }
    }
    with override_settings(CHANNEL_LAYERS=layers):
        yield


def _delete_keys(pattern: str) -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        for key in client.scan_iter(match=pattern):
            client.delete(key)
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def desk_server_env():
    """Extra environment for the server process; override it in a test module
    (EMAIL_URL of an SMTP test server, a provider's base URL, ...)."""
    return {}


@pytest.fixture
def desk_server(desk_worker, layer_prefix, desk_server_env, tmp_path):
    """A daphne process serving the desk; its tasks go to this test's worker."""
    with serving_desk(
        worker=desk_worker,
        layer_prefix=layer_prefix,
        log_dir=tmp_path,
        extra_env=desk_server_env,
    ) as server:
        yield server


@contextmanager
def serving_desk(
    *, worker: Worker, layer_prefix: str, log_dir: Path, extra_env: dict
) -> Iterator[DeskServer]:
    """A daphne process serving the desk until the block ends; its tasks go to
    `worker`."""
    assert settings.REDIS_URL, "browser tests need REDIS_URL"
    port = _free_port()
    server = DeskServer(url=f"http://127.0.0.1:{port}", log=log_dir / "daphne.log")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_LAYER_PREFIX": layer_prefix,
        "CELERY_TASK_DEFAULT_QUEUE": worker.queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CONN_MAX_AGE": "0",
        "DEBUG": "0",
        "WHITENOISE_USE_FINDERS": "1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        **extra_env,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    command = [
        str(Path(sys.executable).with_name("daphne")),
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "supportdesk.asgi:application",
    ]
    with server.log.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_serving(process, server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # Shown by pytest only when the test failed.
        print(f"--- server log ---\n{server.output()}")


def _wait_until_serving(process: subprocess.Popen, server: DeskServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the server exited with {process.returncode}:\n{server.output()}"
            )
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the server did not answer in {READY_TIMEOUT_SECONDS}s")


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, driven by Playwright (no browser download).

    Per module, not per session: while Playwright runs, its event loop is this
    thread's, and the async tests of other modules need the thread back.
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"browser tests need chromium at {CHROMIUM} (apt-get install chromium)"
        )
    # Playwright's synchronous API keeps an event loop on this thread, which Django
    # takes for async code; the test's own database calls stay synchronous.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def open_page(browser, desk_server):
    """open_page(agent) → a page of a fresh browser context, signed in as the agent
    through the real sign-in form (factory agents' password is "pass")."""
    contexts = []

    def signed_in(agent, password: str = "pass"):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(UI_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{desk_server.url}/login/")
        page.fill("input[name=username]", agent.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{desk_server.url}/queue/")
        return page

    yield signed_in
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page, tech_agent):
    """The queue of an agent of Technical support, the default team."""
    return open_page(tech_agent)


def wait_until_live(page) -> None:
    """The page's WebSocket is open and joined its groups."""
    page.wait_for_selector("#live-status[data-state=open]")
