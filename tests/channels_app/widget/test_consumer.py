"""The widget's socket: which pages may open it, what it refuses, and that a
visitor hears only their own conversation."""

import json

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from channels_app.models import ChatEntry, InboundRecord
from channels_app.widget.entries import append_entry
from tests.channels_app.widget.conftest import (
    HOST_ORIGIN,
    desk_receive_until,
    desk_socket,
    ticket_of,
)
from tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)


def handshake(widget, origin: str, *, path=None) -> bool:
    async def scenario():
        accepted = await widget.open_socket(origin=origin, path=path)
        if accepted:
            await widget.close()
        return accepted

    return async_to_sync(scenario)()


# ---------------------------------------------------------------------- origin


def test_the_desk_and_the_inboxs_sites_may_open_the_socket(widget):
    """Pages of the desk itself and of a site the inbox allows are accepted."""
    for origin in (
        "http://testserver",  # the desk's own iframe
        HOST_ORIGIN,
        "http://SHOP.example:80",  # the same origin spelled otherwise
        "http://127.0.0.1:8000",  # the desk's public address
    ):
        assert handshake(widget, origin), origin


def test_a_page_of_another_site_cannot_open_the_socket(widget):
    """A handshake from an origin that is neither the desk nor allowed is refused
    before it is accepted; another port or scheme is another origin."""
    for origin in (
        "http://evil.example",
        "http://shop.example:8080",
        "https://shop.example",
        "http://shop.example.evil.example",
        "http://testserver:8000",
        "null",
        "",
    ):
        assert not handshake(widget, origin), origin


def test_a_socket_of_an_unknown_or_disabled_inbox_is_refused(widget, chat_inbox):
    """No such chat inbox, or one switched off: the handshake is refused."""
    assert not handshake(widget, HOST_ORIGIN, path="/ws/widget/nowhere/")
    chat_inbox.enabled = False
    chat_inbox.save(update_fields=["enabled"])
    assert not handshake(widget, HOST_ORIGIN)


def test_an_allowed_origin_with_a_port_must_match_it(widget, chat_inbox):
    """An inbox that allows http://127.0.0.1:8123 accepts that page and no other
    port of the same host."""
    chat_inbox.config["allowed_origins"] = ["http://127.0.0.1:8123/"]
    chat_inbox.save(update_fields=["config"])

    assert handshake(widget, "http://127.0.0.1:8123")
    assert not handshake(widget, "http://127.0.0.1:8124")
    assert not handshake(widget, HOST_ORIGIN)


# ------------------------------------------------------------------- bad input


def nothing_stored() -> bool:
    return not (
        InboundRecord.objects.exists()
        or TimelineEvent.objects.exists()
        or ChatEntry.objects.exists()
    )


def test_malformed_frames_get_clear_errors_and_the_socket_stays_open(
    widget, teams, settings
):
    """Invalid JSON, a non-object, a text over the limit, a missing or malformed
    client id, an empty message and an unknown type each get an error with a
    stable code; nothing is stored, and the socket still works afterwards."""
    settings.WIDGET_MAX_MESSAGE_CHARS = 20
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        errors = []
        await widget.socket.send_to(text_data="{not json")
        errors.append(await widget.receive())
        await widget.socket.send_to(text_data=json.dumps(["message"]))
        errors.append(await widget.receive())
        await widget.socket.send_to(bytes_data=b"\x00\x01")
        errors.append(await widget.receive())
        for frame in (
            {"type": "message", "client_id": "c1", "text": "x" * 21},
            {"type": "message", "text": "no client id"},
            {"type": "message", "client_id": "bad id!", "text": "Hi"},
            {"type": "message", "client_id": "x" * 65, "text": "Hi"},
            {"type": "message", "client_id": "c2", "text": "   "},
            {"type": "message", "client_id": "c3", "text": ["Hi"]},
            {"type": "subscribe", "group": "widget.everyone"},
            {"type": "history", "before": "10"},
            {"type": "receipt", "seq": "1"},
            {"type": "rate", "seq": 1, "score": 9},
        ):
            await widget.send(**frame)
            errors.append(await widget.receive())
        await widget.send(type="ping")
        pong = await widget.receive()
        await widget.close()
        return errors, pong

    errors, pong = async_to_sync(scenario)()

    assert {error["type"] for error in errors} == {"error"}
    assert [error["error"] for error in errors] == [
        "invalid",
        "invalid",
        "invalid",
        "too_long",
        "invalid",
        "invalid",
        "invalid",
        "invalid",
        "invalid",
        "invalid",
        "invalid",
        "invalid",
        "invalid",
    ]
    assert all(error["message"] for error in errors)
    assert errors[3]["client_id"] == "c1"
    assert pong == {"type": "pong"}
    assert nothing_stored()


def test_a_second_hello_changes_nothing(widget, new_widget, teams):
    """Once a socket belongs to a visitor, a hello with another's token does not
    move it to the other visitor."""
    widget.start(name="Ana")
    other = new_widget()
    other.start(name="Bo")

    async def scenario():
        await widget.connect()
        await widget.send(type="hello", token=other.token, last_seq=0)
        error = await widget.receive()
        await other.connect()
        await widget.send(type="message", client_id="c1", text="From Ana")
        await widget.receive_until("entry")
        heard_by_other = await other.hears_nothing()
        await widget.close()
        await other.close()
        return error, heard_by_other

    error, heard_by_other = async_to_sync(scenario)()
    assert error["type"] == "error"
    assert heard_by_other
    assert ChatEntry.objects.get().visitor == widget.visitor()


# ------------------------------------------------------------------- isolation


def test_a_visitor_hears_only_their_own_conversation(widget, new_widget, teams):
    """Two visitors chatting at once: each socket gets its own entries and
    typing, never the other's, whatever ids a hello names."""
    widget.start(name="Ana")
    other = new_widget()
    other.start(name="Bo")
    ana_id = widget.visitor().public_id.hex

    async def scenario():
        await widget.connect()
        assert await other.open_socket()
        await other.send(
            type="hello",
            token=other.token,
            last_seq=0,
            visitor=ana_id,
            group=f"widget.{ana_id}",
        )
        await other.receive_until("synced")
        await widget.send(type="message", client_id="a1", text="Ana's secret")
        mine = (await widget.receive_until("entry"))["entry"]
        others_heard = await other.hears_nothing()
        await other.send(type="message", client_id="b1", text="Bo's question")
        theirs = (await other.receive_until("entry"))["entry"]
        ana_heard = await widget.hears_nothing()
        await widget.close()
        await other.close()
        return mine, theirs, others_heard, ana_heard

    mine, theirs, others_heard, ana_heard = async_to_sync(scenario)()
    assert mine["text"] == "Ana's secret" and theirs["text"] == "Bo's question"
    assert mine["seq"] == theirs["seq"] == 1
    assert others_heard and ana_heard


def test_history_gives_only_the_visitors_own_entries(widget, new_widget, teams):
    """Asking for history before any number, however large, never returns another
    visitor's entries."""
    other = new_widget()
    other.start(name="Bo")
    widget.start(name="Ana")

    async def scenario():
        await other.connect()
        for number in range(3):
            await other.send(type="message", client_id=f"b{number}", text="Bo")
            await other.receive_until("entry")
        await other.close()
        await widget.connect()
        pages = []
        for before in (2, 4, 10_000, 2**31, 10**30):
            await widget.send(type="history", before=before)
            pages.append(await widget.receive_until("history"))
        await widget.close()
        return pages

    for page in async_to_sync(scenario)():
        assert page == {"type": "history", "entries": [], "has_more": False}


def test_history_pages_back_through_the_visitors_own_entries(widget, teams):
    """A visitor with more than a page of entries gets the newest 50 on a fresh
    load and the older ones by history, oldest first."""
    widget.start(name="Ana")
    visitor = widget.visitor()
    for _ in range(53):
        append_entry(visitor_id=visitor.pk, kind=ChatEntry.Kind.RESOLVED)

    async def scenario():
        _, backlog, synced = await widget.connect()
        await widget.send(type="history", before=backlog[0]["seq"])
        older = await widget.receive_until("history")
        await widget.close()
        return backlog, synced, older

    backlog, synced, older = async_to_sync(scenario)()
    assert [entry["seq"] for entry in backlog] == list(range(4, 54))
    assert synced == {"type": "synced", "last_seq": 53, "has_more": True}
    assert [entry["seq"] for entry in older["entries"]] == [1, 2, 3]
    assert older["has_more"] is False


# -------------------------------------------------------------------- escaping


def test_html_typed_by_a_visitor_is_text_and_shown_escaped_to_agents(
    widget, teams, tech_agent
):
    """What a visitor types is stored as typed and escaped on the ticket page."""
    typed = '<img src=x onerror="alert(1)"><b>bold</b>'
    widget.start(name='<script>alert("name")</script>')

    async def scenario():
        await widget.connect()
        await widget.send(type="message", client_id="c1", text=typed)
        entry = (await widget.receive_until("entry"))["entry"]
        await widget.close()
        return entry

    entry = async_to_sync(scenario)()
    assert entry["text"] == typed
    ticket = ticket_of(widget)
    event = ticket.events.get(kind="message_in")
    assert (event.text, event.html) == (typed, "")

    agent = Client()
    agent.force_login(tech_agent)
    html = agent.get(f"/tickets/{ticket.pk}/").content.decode()
    assert typed not in html and '<script>alert("name")' not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&lt;b&gt;bold" in html


def test_a_visitor_message_reaches_the_agents_queue_live(widget, teams, tech_agent):
    """A visitor's first message opens a chat ticket that the desk of the team it
    is routed to hears about as it happens."""
    widget.start(name="Ana")

    async def scenario():
        desk = await desk_socket(tech_agent)
        await widget.connect()
        await widget.send(type="message", client_id="c1", text="Anyone there?")
        heard = await desk_receive_until(desk, "ticket.routed")
        await widget.close()
        await desk.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    ticket = ticket_of(widget)
    assert heard["ticket_id"] == ticket.pk
    assert (ticket.channel, ticket.team.slug) == ("chat", "tech")


def test_a_socket_sending_too_many_frames_is_told_to_slow_down(widget, monkeypatch):
    """Frames of any kind count: past the window's allowance each gets an error,
    and the socket stays open for the next window."""
    from channels_app.widget import consumer

    monkeypatch.setattr(consumer, "FRAMES_PER_WINDOW", 3)
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()  # the hello is the window's first frame
        await widget.send(type="ping")
        assert (await widget.receive())["type"] == "pong"
        await widget.send(type="ping")
        assert (await widget.receive())["type"] == "pong"
        await widget.send(type="ping")
        refused = await widget.receive()
        assert (refused["type"], refused["error"]) == ("error", "rate_limited")
        assert refused["retry_after"] == consumer.FRAME_WINDOW_SECONDS
        await widget.close()

    async_to_sync(scenario)()


DEEP_JSON = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize("hello_first", [False, True], ids=["before hello", "after"])
def test_a_deeply_nested_frame_gets_an_error_and_the_socket_stays_open(
    widget, teams, hello_first
):
    """50,000 nested brackets are an invalid frame like any other: an error
    frame, never a socket closed with 1011, and nothing stored."""
    widget.start(name="Ana")

    async def scenario():
        if hello_first:
            await widget.connect()
        else:
            assert await widget.open_socket()
        await widget.socket.send_to(text_data=DEEP_JSON)
        error = await widget.receive()
        if hello_first:
            await widget.send(type="ping")
        else:
            await widget.send(type="hello", token=widget.token)
        after = await widget.receive()
        await widget.close()
        return error, after

    error, after = async_to_sync(scenario)()

    assert (error["type"], error["error"]) == ("error", "invalid")
    assert "nested deeper than" in error["message"]
    assert after["type"] == ("pong" if hello_first else "ready")
    assert nothing_stored()
