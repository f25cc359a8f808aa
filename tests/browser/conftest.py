"""Browser tests: headless Chromium against a real desk server process.

One server (daphne, tests/server.py) and one Celery worker (tests/worker.py) per
module talk to this run's test database and to Redis under a channel-layer prefix
of the module's own, so events of other runs on the same Redis never reach these
pages. Tests here need `django_db(transaction=True)`: the server sees only what
the test commits, and the database is emptied after each test.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from playwright.sync_api import expect

from tests.server import (
    layer_prefix,  # noqa: F401  (a fixture)
    serving_desk,
)
from tests.worker import running_worker

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
# How long a page may take to show what the test waits for (a worker's round trip
# included); a bound for a hung run, not a performance target.
UI_TIMEOUT_MS = 20_000
# The same bound for every `expect(...)` assertion: live updates cross a worker, the
# channel layer and a socket, and a busy machine can take longer than the default.
expect.set_options(timeout=UI_TIMEOUT_MS)


@pytest.fixture(autouse=True)
def _same_layer_here(layer_prefix):  # noqa: F811
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


@pytest.fixture(scope="module")
def desk_server_env():
    """Extra environment for the server process; override it in a test module
    (EMAIL_URL of an SMTP test server, a provider's base URL, ...)."""
    return {}


@pytest.fixture(scope="module")
def desk_worker(layer_prefix, django_db_setup, tmp_path_factory):  # noqa: F811
    """One Celery worker for the module's tests: each test commits its own data
    and the database is emptied between them, so the worker needs no restart."""
    with running_worker(tmp_path_factory.mktemp("worker")) as worker:
        yield worker


@pytest.fixture(scope="module")
def desk_server(desk_worker, layer_prefix, desk_server_env, tmp_path_factory):  # noqa: F811
    """One daphne process serving the desk for the module's tests; its tasks go to
    the module's worker."""
    with serving_desk(
        worker=desk_worker,
        layer_prefix=layer_prefix,
        log_dir=tmp_path_factory.mktemp("desk"),
        extra_env=desk_server_env,
    ) as server:
        yield server


@pytest.fixture(autouse=True)
def _logs_of_this_test(desk_server, desk_worker):
    """What the server and the worker wrote during the test, shown if it fails."""
    server_from, worker_from = len(desk_server.output()), len(desk_worker.output())
    yield
    print(f"--- server log ---\n{desk_server.output()[server_from:]}")
    print(f"--- worker log ---\n{desk_worker.output()[worker_from:]}")


# Reports every Content-Security-Policy violation of a frame to the test, before
# any script of the page runs (a violation raises no error a test would see).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__deskPolicyViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}` +
      ` in ${event.documentURI} (${event.sourceFile || "the page"}` +
      `:${event.lineNumber}) ${event.sample || ""}`
  );
});
"""
# What Chromium writes to the console for a refusal no page event reports (a
# frame its ancestors may not show) and for a header it cannot read.
POLICY_CONSOLE_WORDS = ("Content Security Policy", "Permissions-Policy")


class PolicyViolations:
    """The violations seen during the running test: every browser context made
    through a watched browser reports into the list of the test it was made in."""

    current: list[str] | None = None

    @classmethod
    def watch(cls, context) -> None:
        seen = cls.current
        if seen is None:
            return
        context.expose_binding(
            "__deskPolicyViolation",
            lambda source, text: seen.append(f"{source['frame'].url}: {text}"),
        )
        context.add_init_script(REPORT_VIOLATIONS)

        def on_console(message) -> None:
            if any(word in message.text for word in POLICY_CONSOLE_WORDS):
                seen.append(f"console {message.type}: {message.text}")

        context.on("console", on_console)


class WatchedBrowser:
    """A Playwright browser whose new contexts report policy violations."""

    def __init__(self, browser) -> None:
        self._browser = browser

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        PolicyViolations.watch(context)
        return context

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(autouse=True)
def policy_violations():
    """The test's Content-Security-Policy and Permissions-Policy violations; any
    left in the list when the test ends fails it. A test that causes one on
    purpose takes what it expected out of the list."""
    seen: list[str] = []
    PolicyViolations.current = seen
    yield seen
    PolicyViolations.current = None
    if seen:
        pytest.fail(
            "the browser reported policy violations:\n" + "\n".join(seen),
            pytrace=False,
        )


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, driven by Playwright (no browser download), its
    contexts watched for policy violations (PolicyViolations).

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
        yield WatchedBrowser(browser)
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


def save_docs_screenshot(page, path: Path, *, settle_ms: int = 0, **options) -> None:
    """The README's pictures, taken only with DOCS_SCREENSHOTS=1 (`make
    screenshots`): a plain test run leaves the tree as it found it."""
    if os.environ.get("DOCS_SCREENSHOTS") != "1":
        return
    path.parent.mkdir(exist_ok=True)
    if settle_ms:
        page.wait_for_timeout(settle_ms)
    page.screenshot(path=str(path), **options)
