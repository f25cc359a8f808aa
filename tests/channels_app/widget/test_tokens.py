"""The visitor's token: who a widget socket belongs to, decided by the server."""

import time
from unittest import mock

import pytest
from asgiref.sync import async_to_sync

from channels_app.models import ChatVisitor, Inbox
from channels_app.widget import consumer
from channels_app.widget.tokens import issue_token, visitor_for_token
from tests.channels_app.widget.conftest import signed_user

pytestmark = pytest.mark.django_db(transaction=True)

UNAUTHENTICATED = 4401


def refused_at_hello(widget, token) -> int:
    """The close code the socket answers a hello carrying `token` with."""

    async def scenario():
        assert await widget.open_socket()
        await widget.send(type="hello", token=token, last_seq=0)
        return await widget.close_code()

    return async_to_sync(scenario)()


def altered(token: str) -> str:
    """The token with one character of its payload changed."""
    position = 3
    swapped = "A" if token[position] != "A" else "B"
    return token[:position] + swapped + token[position + 1 :]


def test_a_forged_or_altered_token_is_refused(widget):
    """A token whose signature does not match its content closes the socket 4401."""
    widget.start(name="Ana")
    genuine = widget.token

    assert refused_at_hello(widget, altered(genuine)) == UNAUTHENTICATED
    assert refused_at_hello(widget, genuine + "x") == UNAUTHENTICATED
    assert refused_at_hello(widget, "") == UNAUTHENTICATED
    assert refused_at_hello(widget, {"v": "forged"}) == UNAUTHENTICATED


def test_a_token_of_another_inbox_is_refused(widget, new_widget, chat_inbox):
    """A genuine token of one inbox opens nothing on another inbox's socket."""
    other_inbox = Inbox.objects.create(
        adapter=Inbox.Adapter.CHAT,
        name="Other shop",
        slug="other",
        config={"allowed_origins": ["http://other.example"]},
    )
    elsewhere = new_widget(other_inbox)
    elsewhere.start(name="Bo")

    assert refused_at_hello(widget, elsewhere.token) == UNAUTHENTICATED
    assert visitor_for_token(elsewhere.token, chat_inbox) is None


def test_an_expired_verified_token_is_refused_an_anonymous_one_of_that_age_is_not(
    widget, new_widget, chat_inbox
):
    """A logged-in customer's token lasts only the inbox's identity_max_age; an
    anonymous visitor's token of the same age still works."""
    chat_inbox.config["identity_max_age"] = 600
    chat_inbox.save(update_fields=["config"])
    an_hour_ago = time.time() - 3600
    anonymous = new_widget()
    with mock.patch("time.time", return_value=an_hour_ago):
        widget.start(user=signed_user("user-7"))
        anonymous.start(name="Bo")
    assert ChatVisitor.objects.get(external_user_id="user-7").verified

    assert refused_at_hello(widget, widget.token) == UNAUTHENTICATED

    async def anonymous_still_in():
        ready, _, _ = await anonymous.connect()
        await anonymous.close()
        return ready

    assert async_to_sync(anonymous_still_in)()["visitor"]["name"] == "Bo"


def test_a_message_before_hello_closes_the_socket(widget):
    """The token must come first: anything else before hello closes 4401."""
    widget.start(name="Ana")

    async def scenario():
        assert await widget.open_socket()
        await widget.send(type="message", client_id="c1", text="Hi")
        return await widget.close_code()

    assert async_to_sync(scenario)() == UNAUTHENTICATED
    assert not ChatVisitor.objects.get().entries.exists()


def test_a_socket_without_hello_is_closed_in_time(widget, monkeypatch):
    """A socket that never says hello is closed 4408 after the hello timeout."""
    monkeypatch.setattr(consumer, "HELLO_TIMEOUT_SECONDS", 0.2)

    async def scenario():
        assert await widget.open_socket()
        return await widget.close_code()

    assert async_to_sync(scenario)() == consumer.CLOSE_NO_HELLO


def test_a_token_in_the_url_opens_nothing(widget, chat_inbox):
    """Tokens never travel in a URL: one in the socket's query string is ignored,
    and so is one in the session URL (a new visitor is made instead)."""
    widget.start(name="Ana")
    token = widget.token
    first = widget.visitor()

    async def scenario():
        path = f"/ws/widget/{chat_inbox.slug}/?token={token}"
        assert await widget.open_socket(path=path)
        await widget.send(type="hello", last_seq=0)
        return await widget.close_code()

    assert async_to_sync(scenario)() == UNAUTHENTICATED

    widget.token = ""
    response = widget.client.post(
        f"/widget/{chat_inbox.slug}/session?token={token}",
        {},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert visitor_for_token(response.json()["token"], chat_inbox) != first


@pytest.mark.django_db
def test_the_iframe_page_carries_no_token_and_only_the_inboxs_sites_frame_it(
    client, widget, chat_inbox
):
    """The iframe page names the socket and session URLs without any token, and
    its policy lets only the desk and the inbox's sites frame it."""
    widget.start(name="Ana")

    response = client.get(f"/widget/{chat_inbox.slug}/")

    config = response.context["widget_config"]
    assert config["socket_url"] == f"/ws/widget/{chat_inbox.slug}/"
    assert widget.token not in response.content.decode()
    # Only the desk and the inbox's sites may frame it.
    policy = response["Content-Security-Policy"]
    ancestors = next(
        part for part in policy.split("; ") if part.startswith("frame-ancestors")
    )
    assert ancestors == "frame-ancestors 'self' http://shop.example"
    assert "'unsafe-inline'" not in policy


def test_a_token_names_its_visitor(widget, chat_inbox):
    """A fresh token of a visitor opens that visitor's socket, and the session
    issues tokens that name the visitor they were made for."""
    data = widget.start(name="Ana")
    visitor = widget.visitor()

    assert visitor.name == "Ana" and data["visitor"]["name"] == "Ana"
    assert visitor_for_token(issue_token(visitor), chat_inbox) == visitor

    async def scenario():
        ready, backlog, synced = await widget.connect()
        await widget.close()
        return ready, backlog, synced

    ready, backlog, synced = async_to_sync(scenario)()
    assert ready["visitor"] == {
        "id": visitor.public_id.hex,
        "name": "Ana",
        "email": "",
        "verified": False,
    }
    assert (backlog, synced["last_seq"]) == ([], 0)
