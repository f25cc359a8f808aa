"""The chat widget in a real browser: a shop's page on one origin embeds the desk's
widget from another; visitors chat with agents on the desk, live, and neither a
forged identity, another visitor nor a site the inbox does not allow gets at
anyone's conversation."""

import base64
import json
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core import signing
from playwright.sync_api import expect

from channels_app.models import ChatEntry, ChatVisitor, Inbox
from channels_app.widget.entries import attachment_url
from channels_app.widget.tokens import user_hash
from customers.models import Identity
from tests.browser.conftest import UI_TIMEOUT_MS, save_docs_screenshot, wait_until_live
from tests.browser.host_site import HostSite, embed_page
from tests.browser.widget_support import (  # noqa: F401  (fixtures, used by name)
    OPEN_SOCKET,
    SLUG,
    TRY_DOORS,
    SocketSwitch,
    Visitor,
    agent_at_desk_fixture,
    agent_fixture,
    chat_ticket,
    create_shop_inbox,
    desk_server_fixture,
    desk_worker_fixture,
    host_site_fixture,
    logs_of_this_test_fixture,
    open_ticket,
    session_statuses,
    wait_until,
)
from tickets.actions.tickets import do_reply
from tickets.models import Attachment, TicketRating, TimelineEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

SECRET = "acme-shop-identity-secret"
SCREENSHOT = Path(settings.BASE_DIR) / "docs" / "widget.png"
# A one-pixel PNG, for a visitor's upload.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
    "awAAAABJRU5ErkJggg=="
)


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def chat_inbox(host_site, desk_server) -> Inbox:
    """The shop's chat, with its colour and the secret that signs its users."""
    return create_shop_inbox(
        host_site=host_site,
        desk_url=desk_server.url,
        config={"color": "#2f4f3a"},
        secrets={"identity_secret": SECRET},
    )


@pytest.fixture
def new_page(browser):
    """new_page() → a page in a browser context of its own (a visitor's browser)."""
    contexts = []

    def fresh_page():
        context = browser.new_context(viewport={"width": 1280, "height": 760})
        context.set_default_timeout(UI_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield fresh_page
    for context in contexts:
        context.close()


# --------------------------------------------------------------------- tests


def test_a_visitor_and_an_agent_chat_live(
    open_page, new_page, desk_server, host_site, chat_inbox, agent
):
    """The visitor's message reaches the agent's queue live; typing shows both
    ways; the agent's reply reaches the widget with the agent's name."""
    desk = open_page(agent)
    wait_until_live(desk)

    visitor = Visitor(new_page()).open(host_site.url("/"))
    expect(visitor.frame.get_by_test_id("prechat-form")).to_be_visible()
    visitor.start_chat("Marta Silva", "marta@example.com")
    visitor.write("Hi! My order #4411 arrived damaged, what now?")
    expect(visitor.stored("My order #4411 arrived damaged")).to_have_attribute(
        "data-seq", "1"
    )

    # The worker routed it to the agent's team: the row arrives in the queue.
    row = desk.locator("#queue-body tr.ticket-row", has_text="Marta Silva")
    expect(row).to_contain_text("My order #4411 arrived damaged")
    expect(row).to_contain_text("Technical support")
    open_ticket(desk, desk_server.url, row.get_attribute("data-ticket-id"))
    timeline = desk.locator("#timeline")
    expect(timeline).to_contain_text("My order #4411 arrived damaged, what now?")
    # The agent has the chat in view: the visitor's message shows as seen.
    expect(visitor.frame.get_by_test_id("seen-marker")).to_be_visible()

    composer = visitor.frame.get_by_test_id("composer-input")
    composer.press_sequentially("The box was soaked.", delay=60)
    expect(desk.get_by_test_id("visitor-typing")).to_contain_text(
        "Marta Silva is typing"
    )
    composer.press("Enter")
    expect(timeline).to_contain_text("The box was soaked.")
    expect(desk.get_by_test_id("visitor-typing")).to_have_count(0)

    reply_box = desk.locator("#reply-text")
    reply_box.fill("So sorry about that!")
    typing = visitor.frame.get_by_test_id("typing-indicator")
    expect(typing).to_be_visible()
    expect(typing).to_contain_text("Tomás Rocha is typing")
    reply_box.fill("So sorry about that! A replacement tent ships today.")
    desk.locator("#reply-box button[type=submit]").click()

    reply = visitor.agent_messages()
    expect(reply).to_have_count(1)
    expect(reply).to_contain_text("A replacement tent ships today.")
    expect(visitor.frame.locator(".row", has=reply)).to_contain_text("Tomás Rocha")
    expect(typing).to_be_hidden()
    assert [(seq, sender) for seq, sender, _ in visitor.shown()] == [
        (1, "visitor"),
        (2, "visitor"),
        (3, "agent"),
    ]

    save_docs_screenshot(visitor.page, SCREENSHOT)


def test_replies_sent_while_the_visitor_is_offline_arrive_once_in_order(
    new_page, host_site, chat_inbox, agent_at_desk
):
    """Five replies sent while the widget's socket is down all appear after it
    reconnects, in order, once; what the visitor wrote offline is sent once."""
    page = new_page()
    switch = SocketSwitch(page.context)
    visitor = Visitor(page).open(host_site.url("/"))
    visitor.start_chat("Omar Haddad")
    visitor.write("Where is my parcel?")
    expect(visitor.stored("Where is my parcel?")).to_be_visible()
    ticket = chat_ticket(page, "Omar Haddad")

    switch.drop()
    page.context.set_offline(True)
    status = visitor.frame.get_by_test_id("connection-status")
    expect(status).to_have_attribute("data-state", "closed")
    visitor.write("Hello? Are you still there?")

    replies = [f"Update {n} of 5 on your parcel." for n in range(1, 6)]
    for text in replies:
        do_reply(ticket=ticket, author=agent_at_desk, text=text)
    wait_until(
        page,
        lambda: ChatEntry.objects.filter(visitor__name="Omar Haddad").count() == 6,
        "the worker put the five replies on the visitor's stream",
    )
    expect(visitor.agent_messages()).to_have_count(0)

    switch.restore()
    page.context.set_offline(False)
    expect(visitor.agent_messages()).to_have_count(5)
    expect(visitor.stored("Hello? Are you still there?")).to_have_attribute(
        "data-seq", "7"
    )
    page.wait_for_timeout(1000)  # room for a late duplicate to show itself

    shown = visitor.shown()
    assert [seq for seq, _, _ in shown] == [1, 2, 3, 4, 5, 6, 7]
    assert [text for _, sender, text in shown if sender == "agent"] == replies
    assert sorted(switch.entries_sent()) == [1, 2, 3, 4, 5, 6, 7]
    offline_text = TimelineEvent.objects.filter(text="Hello? Are you still there?")
    assert offline_text.count() == 1


def test_a_forged_or_stale_user_signature_never_joins_that_users_chat(
    new_page, desk_server, host_site, chat_inbox, agent_at_desk
):
    """The host page's signed user id counts only with the inbox's secret and a
    fresh timestamp; otherwise the visitor chats as an anonymous one."""
    now = int(time.time())
    stale = now - 3 * 24 * 3600
    signed_in = {
        "/forged": ("4242", user_hash("a-guess", user_id="4242", timestamp=now), now),
        "/stale": ("4242", user_hash(SECRET, user_id="4242", timestamp=stale), stale),
        "/account": ("4343", user_hash(SECRET, user_id="4343", timestamp=now), now),
    }
    for path, (user_id, signature, ts) in signed_in.items():
        host_site.pages[path] = embed_page(
            desk_server.url,
            SLUG,
            user_id=user_id,
            user_hash=signature,
            user_ts=str(ts),
            user_name="Nina Kowalski",
            user_email="nina@example.com",
        )

    for path in ("/forged", "/stale"):
        page = new_page()
        statuses = session_statuses(page)
        visitor = Visitor(page).open(host_site.url(path))
        # Refused, the widget starts over as a stranger who says who they are.
        expect(visitor.frame.get_by_test_id("prechat-form")).to_be_visible()
        expect(visitor.frame.get_by_test_id("prechat-name")).to_have_value("")
        assert statuses[:2] == [403, 200], (path, statuses)
        visitor.start_chat("Eve")
        visitor.write(f"Hello from {path}")
        expect(visitor.stored(f"Hello from {path}")).to_be_visible()

    assert not ChatVisitor.objects.filter(external_user_id="4242").exists()
    assert not ChatVisitor.objects.filter(identity_value=f"{SLUG}:user:4242").exists()
    assert not Identity.objects.filter(value=f"{SLUG}:user:4242").exists()
    anonymous = ChatVisitor.objects.filter(name="Eve", external_user_id="")
    assert anonymous.count() == 2
    senders = TimelineEvent.objects.filter(text__startswith="Hello from").values_list(
        "sender_identity__value", flat=True
    )
    assert sorted(senders) == sorted(visitor.identity_value for visitor in anonymous)

    # A genuine signature: straight into that user's chat, no questions asked.
    visitor = Visitor(new_page()).open(host_site.url("/account"))
    expect(visitor.frame.get_by_test_id("composer-input")).to_be_visible()
    visitor.wait_connected()
    expect(visitor.frame.get_by_test_id("prechat-form")).to_be_hidden()
    nina = ChatVisitor.objects.get(external_user_id="4343")
    assert nina.identity_value == f"{SLUG}:user:4343"
    assert (nina.name, nina.email) == ("Nina Kowalski", "nina@example.com")


def test_a_visitor_cannot_read_another_visitors_chat(
    new_page, host_site, chat_inbox, agent_at_desk
):
    """Hand-made tokens, other sequence numbers and another visitor's file links
    bring nothing of another visitor's chat to a page."""
    ana = Visitor(new_page()).open(host_site.url("/"))
    ana.start_chat("Ana Lima", "ana@example.com")
    secret = "My card ends in 9921 and my code is PINE-7781"
    ana.write(secret)
    ana.frame.locator("#attach-input").set_input_files(
        {"name": "receipt-ana.png", "mimeType": "image/png", "buffer": PIXEL_PNG}
    )
    expect(ana.stored(secret)).to_be_visible()
    expect(ana.frame.locator("[data-seq] img[alt='receipt-ana.png']")).to_be_visible()

    bruno = Visitor(new_page()).open(host_site.url("/"))
    bruno.start_chat("Bruno Costa")
    bruno.write("Do you ship to Porto?")
    expect(bruno.stored("Do you ship to Porto?")).to_be_visible()

    victim = ChatVisitor.objects.get(name="Ana Lima")
    receipt = Attachment.objects.get(name="receipt-ana.png")
    claim = {"v": victim.public_id.hex, "i": chat_inbox.pk, "t": int(time.time())}
    bare = base64.urlsafe_b64encode(json.dumps(claim).encode()).decode().rstrip("=")
    tokens = [
        bare,
        # Bruno's genuine signature under Ana's claim.
        bare + bruno.token[bruno.token.index(":") :],
        signing.dumps(claim, key="not-the-desk-key", salt="supportdesk.widget.visitor"),
        victim.public_id.hex,
        str(victim.public_id),
        victim.identity_value,
    ]
    attempts = {
        "tokens": tokens,
        "victim": victim.public_id.hex,
        "fileUrls": [
            f"/widget/{SLUG}/files/{receipt.pk}/forged/",
            # A genuine link to Ana's file, signed for Bruno.
            attachment_url(ChatVisitor.objects.get(name="Bruno Costa"), receipt.pk),
        ],
        "sessionTokens": tokens,
    }

    found = bruno.in_frame(TRY_DOORS, {**attempts, "ownToken": bruno.token})

    assert [socket["code"] for socket in found["sockets"]] == [4401] * len(tokens)
    assert all(not socket["got"] for socket in found["sockets"]), found["sockets"]
    assert "Do you ship to Porto?" in "\n".join(found["own"]["got"])
    assert [answer["status"] for answer in found["files"]] == [404, 404]
    assert all(answer["status"] == 200 for answer in found["sessions"])
    everything = json.dumps(found)
    for leak in ("9921", "PINE-7781", "receipt-ana", "Ana Lima", "ana@example.com"):
        assert leak not in everything, leak
    expect(bruno.frame.get_by_test_id("message-list")).not_to_contain_text("PINE")

    # The same attempts from Ana's own widget do find her chat: a leak would show.
    mine = ana.in_frame(
        TRY_DOORS,
        {
            **attempts,
            "ownToken": ana.token,
            "fileUrls": [attachment_url(victim, receipt.pk)],
            "sessionTokens": [],
        },
    )
    assert "PINE-7781" in "\n".join(mine["own"]["got"])
    assert mine["files"][0]["status"] == 200


def test_a_site_the_inbox_does_not_allow_cannot_embed_the_widget(
    new_page, desk_server, host_site, chat_inbox, policy_violations
):
    """The iframe refuses to show on another site (the frame's frame-ancestors
    names only the inbox's sites), and the socket refuses a page of that site;
    the shop's own page gets both."""
    socket_url = desk_server.url.replace("http:", "ws:") + f"/ws/widget/{SLUG}/"
    stranger = HostSite().start()
    try:
        stranger.pages["/"] = embed_page(desk_server.url, SLUG)
        page = new_page()
        page.goto(stranger.url("/"))
        page.get_by_test_id("supportdesk-launcher").click()
        frame = page.locator("#supportdesk-frame").element_handle()
        wait_until(
            page,
            lambda: frame.content_frame().url.startswith("chrome-error:"),
            "the browser blocked the frame",
        )
        expect(
            page.frame_locator("#supportdesk-frame").get_by_test_id("prechat-form")
        ).to_have_count(0)
        assert page.evaluate(OPEN_SOCKET, socket_url) == ["error", "close"]
        # The browser says why: the policy's frame-ancestors. That refusal is the
        # point of the test; any other violation still fails it.
        refused = wait_until(
            page,
            lambda: [v for v in policy_violations if "frame-ancestors" in v],
            "the browser reported the frame-ancestors refusal",
        )
        for violation in refused:
            policy_violations.remove(violation)
    finally:
        stranger.stop()

    shop = new_page()
    shop.goto(host_site.url("/"))
    shop.get_by_test_id("supportdesk-launcher").click()
    expect(
        shop.frame_locator("#supportdesk-frame").get_by_test_id("prechat-form")
    ).to_be_visible()
    assert shop.evaluate(OPEN_SOCKET, socket_url) == ["open", "close"]


def test_the_visitor_rates_a_resolved_chat(
    open_page, new_page, desk_server, host_site, chat_inbox, agent
):
    """Once the agent resolves the chat, the visitor's stars and comment land on
    the ticket."""
    desk = open_page(agent)
    wait_until_live(desk)
    visitor = Visitor(new_page()).open(host_site.url("/"))
    visitor.start_chat("Priya Natarajan")
    visitor.write("The replacement arrived, thanks!")
    ticket = chat_ticket(visitor.page, "Priya Natarajan")

    open_ticket(desk, desk_server.url, ticket.pk)
    desk.locator("#tab-resolve").click()
    desk.locator("#resolve-text").fill("Replacement delivered.")
    desk.locator("#resolve-box button[type=submit]").click()

    form = visitor.frame.get_by_test_id("rating-form")
    expect(form).to_be_visible()
    form.get_by_test_id("rating-star-4").click()
    form.get_by_test_id("rating-comment").fill("Quick and kind.")
    form.get_by_test_id("rating-submit").click()
    expect(visitor.frame.get_by_test_id("rating-thanks")).to_contain_text("★★★★☆")

    rating = desk.get_by_test_id("ticket-rating")
    expect(rating).to_contain_text("4/5")
    expect(rating).to_contain_text("Quick and kind.")
    expect(desk.locator("#timeline .kind-rating")).to_contain_text("Quick and kind.")
    stored = TicketRating.objects.get(ticket=ticket)
    assert (stored.score, stored.comment) == (4, "Quick and kind.")
    assert stored.channel == "chat"
