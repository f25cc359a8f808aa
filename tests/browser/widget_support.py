"""Shared by the chat widget's browser tests: one desk server and worker per
module, the shop's site and its chat inbox, a visitor driving the widget on the
shop's page, the agent's ticket page, a switch for the widget's socket, and the
scripts a page runs to try the desk's doors.

A test module imports the fixtures it uses from here: each is registered under
the name tests ask for, and imported as `<name>_fixture` so a test's argument
does not shadow the import."""

import json
import re
import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from channels_app.models import ChatVisitor, Inbox
from channels_app.widget.entries import visitor_conversation_key
from tests.browser.conftest import UI_TIMEOUT_MS, wait_until_live

# The module's desk server and worker, and each test's slice of their logs, are
# every browser module's (conftest.py); the names stay for modules importing them.
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    _logs_of_this_test as logs_of_this_test_fixture,
)
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    desk_server as desk_server_fixture,
)
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    desk_worker as desk_worker_fixture,
)
from tests.browser.host_site import HostSite, embed_page
from tests.factories import AgentFactory
from tickets.models import Agent, Ticket

SLUG = "shop"


# ------------------------------------------------------------------ fixtures


@pytest.fixture(name="host_site")
def host_site_fixture():
    site = HostSite().start()
    yield site
    site.stop()


@pytest.fixture(name="agent")
def agent_fixture(teams) -> Agent:
    """An agent of Technical support, where the worker routes new chats."""
    return AgentFactory(
        username="tomas", first_name="Tomás", last_name="Rocha", teams=[teams["tech"]]
    )


@pytest.fixture(name="agent_at_desk")
def agent_at_desk_fixture(agent) -> Agent:
    """The agent counts as online, without a desk page open."""
    Agent.objects.filter(pk=agent.pk).update(desk_seen_at=timezone.now())
    return agent


def create_shop_inbox(
    *, host_site: HostSite, desk_url: str, config=None, secrets=None
) -> Inbox:
    """The shop's chat, embedded on the host site's front page: only the shop's
    site may embed it. `config` adds to (or overrides) the common settings."""
    host_site.pages["/"] = embed_page(desk_url, SLUG)
    return Inbox.objects.create(
        adapter=Inbox.Adapter.CHAT,
        name="Acme shop chat",
        slug=SLUG,
        config={
            "title": "Acme help",
            "greeting": "Hi! How can we help with your order?",
            "name_field": "required",
            "email_field": "optional",
            "allowed_origins": [host_site.origin],
            **(config or {}),
        },
        secrets=secrets or {},
    )


# ------------------------------------------------------------------- helpers


class Visitor:
    """A visitor on the shop's page, driving the widget in its iframe."""

    def __init__(self, page):
        self.page = page
        self.frame = page.frame_locator("#supportdesk-frame")
        # The widget's token as the desk issued it: a browser may deny a
        # third-party frame its storage, and the widget then keeps it in memory.
        self.token = ""

    def open(self, url: str) -> "Visitor":
        self.page.goto(url)
        self.page.get_by_test_id("supportdesk-launcher").click()
        return self

    def start_chat(self, name: str, email: str = "") -> "Visitor":
        self.frame.get_by_test_id("prechat-name").fill(name)
        if email:
            self.frame.get_by_test_id("prechat-email").fill(email)
        with self.page.expect_response(
            lambda response: response.url.endswith(f"/widget/{SLUG}/session")
        ) as answer:
            self.frame.get_by_test_id("prechat-submit").click()
        self.token = answer.value.json()["token"]
        expect(self.frame.get_by_test_id("composer-input")).to_be_visible()
        self.wait_connected()
        return self

    def wait_connected(self) -> None:
        expect(self.frame.get_by_test_id("connection-status")).to_have_attribute(
            "data-state", "open"
        )

    def write(self, text: str) -> None:
        self.frame.get_by_test_id("composer-input").fill(text)
        self.frame.get_by_test_id("composer-send").click()

    def stored(self, text: str):
        """The visitor's message once the desk stored and numbered it."""
        return self.frame.locator(
            "[data-testid=message][data-from=visitor][data-seq]", has_text=text
        )

    def agent_messages(self):
        return self.frame.locator("[data-testid=message][data-from=agent]")

    def shown(self) -> list[tuple[int, str, str]]:
        """(seq, from, text) of every numbered message, in page order."""
        return self.frame.get_by_test_id("message").evaluate_all(
            """bubbles => bubbles.filter(b => b.dataset.seq).map(b =>
                 [Number(b.dataset.seq), b.dataset.from, b.textContent.trim()])"""
        )

    def in_frame(self, script: str, arg=None):
        """Run a script in the widget's own document (the desk's origin)."""
        frame = self.page.locator("#supportdesk-frame").element_handle()
        return frame.content_frame().evaluate(script, arg)


def session_statuses(page) -> list[int]:
    """The status of every answer the page's widget gets from its session door."""
    statuses: list[int] = []

    def note(response) -> None:
        if response.url.endswith(f"/widget/{SLUG}/session"):
            statuses.append(response.status)

    page.on("response", note)
    return statuses


def wait_until(page, condition, what: str, timeout_ms: int = UI_TIMEOUT_MS):
    """Poll `condition`, letting the browser's events flow in between (a
    time.sleep would hold up the socket switch's relaying)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout_ms} ms")
        page.wait_for_timeout(100)
    return result


def chat_ticket(page, visitor_name: str) -> Ticket:
    """A visitor's chat ticket, once the worker made and routed it."""

    def routed():
        visitor = ChatVisitor.objects.filter(name=visitor_name).first()
        if visitor is None:
            return None
        return Ticket.objects.filter(
            conversation_key=visitor_conversation_key(visitor), team__isnull=False
        ).first()

    return wait_until(page, routed, f"a routed ticket for {visitor_name}")


def open_ticket(page, desk_url: str, ticket_id) -> None:
    """The ticket page, live and watching the ticket: typing crosses from then."""
    confirmations = []

    def record(socket) -> None:
        socket.on(
            "framereceived",
            lambda payload: '"watching"' in payload and confirmations.append(payload),
        )

    page.on("websocket", record)
    page.goto(f"{desk_url}/tickets/{ticket_id}/")
    wait_until_live(page)
    wait_until(page, lambda: confirmations, "the desk confirmed the watch")
    page.remove_listener("websocket", record)


class SocketSwitch:
    """Carries a browser context's widget sockets to the desk and records what the
    desk sends; drop() cuts them and refuses new ones until restore()."""

    def __init__(self, context):
        self.up = True
        self.live: list = []
        self.from_desk: list[dict] = []
        context.route_web_socket(re.compile(r"/ws/widget/"), self._route)

    def _route(self, socket) -> None:
        if not self.up:
            socket.close(code=1001, reason="offline")
            return
        desk = socket.connect_to_server()

        def relay(message) -> None:
            self.from_desk.append(json.loads(message))
            socket.send(message)

        desk.on_message(relay)
        self.live.append((socket, desk))

    def drop(self) -> None:
        self.up = False
        for socket, desk in self.live:
            desk.close()
            socket.close(code=1001, reason="offline")
        self.live.clear()

    def restore(self) -> None:
        self.up = True

    def entries_sent(self) -> list[int]:
        return [
            item["entry"]["seq"] for item in self.from_desk if item["type"] == "entry"
        ]


# Run in a widget's frame: the socket with each of `tokens`, then with the
# visitor's own token asking for other numbers; file links; the session door with
# each of `sessionTokens`. Returns everything that came back.
TRY_DOORS = """
async ({ tokens, ownToken, victim, fileUrls, sessionTokens }) => {
  const url = "ws://" + location.host + "/ws/widget/shop/";
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function talk(token) {
    return new Promise((resolve) => {
      const got = [];
      const ws = new WebSocket(url);
      ws.onmessage = (message) => got.push(message.data);
      ws.onclose = (event) => resolve({ code: event.code, got });
      ws.onopen = async () => {
        ws.send(JSON.stringify({
          type: "hello", token, last_seq: 0,
          visitor: victim, group: "widget." + victim,
        }));
        await pause(400);
        if (ws.readyState === WebSocket.OPEN) {
          for (const before of [1, 2, 3, 4, 5, 10, 100, 2147483647]) {
            ws.send(JSON.stringify({ type: "history", before }));
          }
          ws.send(JSON.stringify({ type: "receipt", seq: 2, read: true }));
          ws.send(JSON.stringify({ type: "hello", token: tokens[0], last_seq: 0 }));
          ws.send(JSON.stringify({ type: "rate", seq: 1, score: 1, comment: "x" }));
        }
        await pause(600);
        ws.close();
      };
    });
  }

  const sockets = [];
  for (const token of tokens) sockets.push(await talk(token));
  const own = await talk(ownToken);
  const files = [];
  for (const fileUrl of fileUrls) {
    const answer = await fetch(fileUrl);
    files.push({ status: answer.status, body: await answer.text() });
  }
  const sessions = [];
  for (const token of sessionTokens) {
    const answer = await fetch("/widget/shop/session", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Widget-Token": token },
      body: "{}",
    });
    sessions.push({ status: answer.status, body: await answer.text() });
  }
  return { sockets, own, files, sessions };
}
"""

# Run in a page: what a WebSocket to `url` goes through.
OPEN_SOCKET = """
(url) => new Promise((resolve) => {
  const events = [];
  const ws = new WebSocket(url);
  ws.onopen = () => { events.push("open"); ws.close(); };
  ws.onerror = () => events.push("error");
  ws.onclose = () => { events.push("close"); resolve(events); };
})
"""
