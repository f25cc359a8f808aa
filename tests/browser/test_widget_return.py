"""A visitor who comes back to the shop's page finds their chat again, also where
the browser refuses the widget's frame (a third-party one on the shop's page) any
storage of its own: the frame then keeps its token with the shop's page. Another
browser starts a chat of its own."""

import json

import pytest
from playwright.sync_api import expect

from channels_app.models import ChatVisitor, Inbox
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    UI_TIMEOUT_MS,
    WatchedBrowser,
)
from tests.browser.widget_support import (  # noqa: F401  (fixtures, used by name)
    SLUG,
    Visitor,
    agent_at_desk_fixture,
    agent_fixture,
    chat_ticket,
    create_shop_inbox,
    desk_server_fixture,
    desk_worker_fixture,
    host_site_fixture,
    logs_of_this_test_fixture,
    wait_until,
)
from tickets.actions.tickets import do_reply

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

TOKEN_KEY = f"supportdesk:{SLUG}:token"
# Run in a page: what its localStorage holds under a key, or "denied".
READ_STORAGE = """(key) => {
  try { return window.localStorage.getItem(key); } catch (error) { return "denied"; }
}"""
# Run before the scripts of every frame of a browser context: the desk's frames are
# refused storage as Chromium refuses a third-party frame when third-party storage
# is blocked, whatever the defaults of the browser running the test.
DENY_DESK_STORAGE = """
if (location.origin === %s) {
  Object.defineProperty(window, "localStorage", {
    get() {
      throw new DOMException("Access is denied for this document.", "SecurityError");
    },
  });
}
"""
# A Chromium feature that blocks third-party storage; off, frames keep their own.
TRACKING_PROTECTION = "TrackingProtection3pcd"


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def storing_browser(browser):
    """A second Chromium, one that lets third-party frames keep storage."""
    other = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--disable-features={TRACKING_PROTECTION}"],
    )
    yield WatchedBrowser(other)
    other.close()


@pytest.fixture
def chat_inbox(host_site, desk_server) -> Inbox:
    return create_shop_inbox(host_site=host_site, desk_url=desk_server.url)


@pytest.fixture
def new_page(browser, desk_server):
    """new_page() → a page in a browser context of its own (a visitor's browser)
    whose widget frames are refused storage; new_page(chromium) → one of that
    browser, as it is."""
    contexts = []

    def fresh_page(chromium=None):
        context = (chromium or browser).new_context(
            viewport={"width": 1280, "height": 760}
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        if chromium is None:
            context.add_init_script(DENY_DESK_STORAGE % json.dumps(desk_server.url))
        contexts.append(context)
        return context.new_page()

    yield fresh_page
    for context in contexts:
        context.close()


def shown(visitor: Visitor) -> list[tuple[int, str, str]]:
    return [tuple(message) for message in visitor.shown()]


def come_back(visitor: Visitor) -> None:
    """The visitor reloads the shop's page and opens the chat again."""
    visitor.page.reload()
    visitor.page.get_by_test_id("supportdesk-launcher").click()


# --------------------------------------------------------------------- tests


def test_a_returning_visitor_gets_the_chat_back_when_the_frame_has_no_storage(
    new_page, host_site, chat_inbox, agent_at_desk
):
    """After a reload the widget opens on the visitor's conversation, the agent's
    reply included, with no pre-chat form; a new browser gets a fresh form and
    none of it."""
    question = "Does the trail tent come with a footprint?"
    answer = "It does: the footprint is in the box, under the poles."
    page = new_page()
    visitor = Visitor(page).open(host_site.url("/"))
    visitor.start_chat("Lena Fischer", "lena@example.com")
    visitor.write(question)
    expect(visitor.stored(question)).to_have_attribute("data-seq", "1")
    ticket = chat_ticket(page, "Lena Fischer")
    do_reply(ticket=ticket, author=agent_at_desk, text=answer)
    expect(visitor.agent_messages()).to_contain_text(answer)

    assert visitor.in_frame(READ_STORAGE, TOKEN_KEY) == "denied"
    # The shop's page holds the token the desk issued, under the widget's key.
    wait_until(
        page,
        lambda: page.evaluate(READ_STORAGE, TOKEN_KEY) == visitor.token,
        "the shop's page kept the visitor's token",
    )

    come_back(visitor)
    expect(visitor.frame.get_by_test_id("composer-input")).to_be_visible()
    visitor.wait_connected()
    expect(visitor.agent_messages()).to_have_count(1)
    expect(visitor.frame.get_by_test_id("prechat-form")).to_be_hidden()
    assert shown(visitor) == [(1, "visitor", question), (2, "agent", answer)]
    assert list(ChatVisitor.objects.values_list("name", flat=True)) == ["Lena Fischer"]

    stranger = Visitor(new_page()).open(host_site.url("/"))
    expect(stranger.frame.get_by_test_id("prechat-form")).to_be_visible()
    expect(stranger.frame.get_by_test_id("prechat-name")).to_have_value("")
    expect(stranger.frame.get_by_test_id("message")).to_have_count(0)
    stranger.start_chat("Jonas Weber")
    stranger.write("Is the down sleeping bag in stock?")
    expect(stranger.stored("Is the down sleeping bag in stock?")).to_have_attribute(
        "data-seq", "1"
    )
    assert shown(stranger) == [(1, "visitor", "Is the down sleeping bag in stock?")]
    expect(stranger.frame.get_by_test_id("message-list")).not_to_contain_text(
        "footprint"
    )
    assert stranger.token != visitor.token


def test_a_frame_with_storage_of_its_own_keeps_the_token_there(
    new_page, storing_browser, host_site, chat_inbox, agent_at_desk
):
    """Where the browser lets the widget's frame keep storage, the token stays in
    the frame, out of the shop's scripts' reach, and the chat still comes back
    after a reload."""
    question = "Can I return a tent I have already pitched?"
    page = new_page(storing_browser)
    visitor = Visitor(page).open(host_site.url("/"))
    visitor.start_chat("Sofia Marin")
    visitor.write(question)
    expect(visitor.stored(question)).to_have_attribute("data-seq", "1")
    assert visitor.in_frame(READ_STORAGE, TOKEN_KEY) == visitor.token, (
        f"this Chromium refuses frames storage even without {TRACKING_PROTECTION}"
    )

    come_back(visitor)
    expect(visitor.frame.get_by_test_id("composer-input")).to_be_visible()
    visitor.wait_connected()
    expect(visitor.stored(question)).to_be_visible()
    expect(visitor.frame.get_by_test_id("prechat-form")).to_be_hidden()
    assert shown(visitor) == [(1, "visitor", question)]
    assert page.evaluate(READ_STORAGE, TOKEN_KEY) is None
    assert ChatVisitor.objects.count() == 1
