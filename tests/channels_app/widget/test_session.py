"""The widget's session: who the visitor is, a host site's signed-in customer,
and the pre-chat form that links the chat to the customer's other channels."""

import hashlib
import hmac
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from channels_app.models import ChatVisitor
from customers.models import Customer, Identity
from tests.channels_app.widget.conftest import SECRET, signed_user, ticket_of
from tests.helpers import deliver, message
from tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)


def say(widget, client_id: str, text: str) -> dict:
    """Connect, send one message, wait for it on the stream, disconnect."""

    async def scenario():
        await widget.connect()
        await widget.send(type="message", client_id=client_id, text=text)
        entry = (await widget.receive_until("entry"))["entry"]
        await widget.close()
        return entry

    return async_to_sync(scenario)()


def backlog_of(widget) -> list[dict]:
    async def scenario():
        _, backlog, _ = await widget.connect()
        await widget.close()
        return backlog

    return async_to_sync(scenario)()


# ------------------------------------------------------------ signed-in customers


def test_a_signed_in_customer_has_one_chat_across_browsers(
    teams, new_widget, chat_inbox
):
    """Two browsers with a valid HMAC of the same user id are one visitor: the
    second sees what the first wrote, on the same customer."""
    laptop, phone = new_widget(), new_widget()
    first = laptop.start(user=signed_user("user-42"), name="Ana")
    say(laptop, "from-laptop", "Hello from my laptop")

    second = phone.start(user=signed_user("user-42"))

    assert first["visitor"]["verified"] and second["visitor"]["verified"]
    assert second["visitor"]["name"] == "Ana"
    assert laptop.visitor() == phone.visitor()
    assert [entry["text"] for entry in backlog_of(phone)] == ["Hello from my laptop"]
    say(phone, "from-phone", "And from my phone")
    ticket = ticket_of(laptop)
    assert ticket.events.filter(kind="message_in").count() == 2
    web = Identity.objects.get(kind="web")
    assert (web.value, web.customer_id) == ("shop:user:user-42", ticket.customer_id)


def unverified_users() -> dict[str, object]:
    now = int(time.time())
    return {
        "forged hash": {**signed_user("user-42"), "hash": "0" * 64},
        "wrong key": signed_user("user-42", secret="not-the-secret"),
        "hash of another id": {**signed_user("user-42"), "id": "user-43"},
        "stale ts": signed_user("user-42", ts=now - 2 * 86400),
        "ts from the future": signed_user("user-42", ts=now + 3600),
        "malformed": {"id": "user-42", "ts": "soon", "hash": "ab"},
        "ts not finite": {"id": "user-42", "ts": float("inf"), "hash": "ab"},
        "no hash": {"id": "user-42", "ts": now},
        "hash not hex": {"id": "user-42", "ts": now, "hash": "é" * 64},
        "not an object": "user-42",
    }


def test_an_unverified_user_is_refused_and_joins_nothing(widget, new_widget, teams):
    """A forged, mismatched or stale signature gets 403 identity_refused, and the
    user's chat is neither created nor joined."""
    signed_in = new_widget()
    signed_in.start(user=signed_user("user-42"))
    say(signed_in, "real", "Private question")
    widget.start(name="Mallory")

    for case, user in unverified_users().items():
        response = widget.post_session({"user": user})

        assert response.status_code == 403, case
        assert response.json()["error"] == "identity_refused", case
        assert "token" not in response.json(), case
    assert not ChatVisitor.objects.filter(external_user_id="user-43").exists()
    assert ChatVisitor.objects.count() == 2
    assert backlog_of(widget) == []
    assert not widget.visitor().verified


@pytest.mark.django_db
def test_an_inbox_without_a_secret_takes_no_signed_user(widget, chat_inbox):
    """Without an identity secret no user id can be verified at all."""
    chat_inbox.secrets = {}
    chat_inbox.save(update_fields=["secrets"])

    response = widget.post_session({"user": signed_user("user-42", secret="")})

    assert (response.status_code, response.json()["error"]) == (
        403,
        "identity_refused",
    )
    assert not ChatVisitor.objects.exists()


def test_a_signed_in_customers_token_without_the_user_gets_a_new_visitor(widget, teams):
    """On a shared computer: the stored token of a verified visitor, sent without
    the host site vouching for that user now, gets a fresh anonymous visitor with
    an empty chat."""
    widget.start(user=signed_user("user-42"), name="Ana")
    say(widget, "secret", "My account number is 1234")
    verified = widget.visitor()

    data = widget.start()

    visitor = widget.visitor()
    assert visitor != verified and not visitor.verified
    assert data["visitor"] == {
        "id": visitor.public_id.hex,
        "name": "",
        "email": "",
        "verified": False,
        "needs_prechat": True,
    }
    assert backlog_of(widget) == []


def test_an_anonymous_visitor_keeps_their_chat_with_their_token(widget, teams):
    """A returning anonymous visitor is the same visitor, and sees their history."""
    widget.start(name="Ana")
    say(widget, "c1", "First visit")

    widget.start()

    assert [entry["text"] for entry in backlog_of(widget)] == ["First visit"]


def test_a_signed_in_customer_is_not_merged_into_an_anonymous_visitor(widget, teams):
    """Signing in on a browser that chatted anonymously opens the user's own chat;
    the anonymous chat does not join it."""
    widget.start(name="Ana")
    say(widget, "anon", "Before signing in")
    anonymous = widget.visitor()

    widget.start(user=signed_user("user-42"))

    assert widget.visitor() != anonymous and widget.visitor().verified
    assert backlog_of(widget) == []


@pytest.mark.django_db
def test_a_user_id_with_surrounding_spaces_is_refused(widget, chat_inbox):
    """A user id is taken exactly as signed; padding would name another user."""
    response = widget.post_session({"user": signed_user(" user-42 ")})

    assert response.status_code == 403
    assert not ChatVisitor.objects.exists()


# -------------------------------------------------------------- pre-chat form


def test_the_pre_chat_email_joins_the_customers_existing_timeline(widget, teams):
    """A visitor who gives the address a customer already mailed from chats on
    that customer's one timeline."""
    record = deliver(
        message("email", ("email", "ana@example.com"), subject="Invoice", text="Hi")
    )
    mailed = TimelineEvent.objects.get(pk=record.event_ids[0])

    widget.start(name="Ana Silva", email=" Ana@Example.com ")
    say(widget, "c1", "About my invoice")

    ticket = ticket_of(widget)
    assert ticket.channel == "chat"
    assert ticket.customer_id == mailed.customer_id
    assert Customer.objects.count() == 1
    timeline = TimelineEvent.objects.filter(customer=mailed.customer, kind="message_in")
    assert sorted(timeline.values_list("channel", flat=True)) == ["chat", "email"]
    assert widget.visitor().email == "ana@example.com"


def test_an_email_given_while_the_socket_is_open_links_later_messages(widget, teams):
    """The address a visitor gives after the chat began (asked for when nobody is
    online) links the messages sent after it to the customer's timeline."""
    record = deliver(message("email", ("email", "ana@example.com"), text="Hi"))
    customer_id = TimelineEvent.objects.get(pk=record.event_ids[0]).customer_id
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        await sync_to_async(widget.start)(email="ana@example.com")
        await widget.send(type="message", client_id="after", text="Mail me")
        await widget.receive_until("entry")
        await widget.close()

    async_to_sync(scenario)()

    assert Identity.objects.get(kind="email").customer_id == customer_id
    event = TimelineEvent.objects.get(channel="chat")
    assert event.customer_id == customer_id


@pytest.mark.django_db
def test_a_bad_pre_chat_form_is_refused(widget):
    """A malformed email, a body that is not a JSON object or a name that is not
    text get 400 invalid, and no visitor."""
    for body in ({"email": "not an address"}, [], {"name": ["Ana"]}):
        response = widget.post_session(body)
        assert (response.status_code, response.json()["error"]) == (400, "invalid")
    response = widget.client.post(
        "/widget/shop/session", "{oops", content_type="application/json"
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid")
    assert not ChatVisitor.objects.exists()


@pytest.mark.django_db
def test_the_pre_chat_form_is_asked_for_as_the_inbox_says(
    widget, new_widget, chat_inbox
):
    """needs_prechat follows the inbox's required fields and what the visitor
    already gave."""
    chat_inbox.config["email_field"] = "required"
    chat_inbox.save(update_fields=["config"])

    assert widget.start(name="Ana")["visitor"]["needs_prechat"] is True
    assert widget.start(email="ana@example.com")["visitor"]["needs_prechat"] is False

    chat_inbox.config.update(name_field="optional", email_field="optional")
    chat_inbox.save(update_fields=["config"])
    assert new_widget().start()["visitor"]["needs_prechat"] is False


@pytest.mark.django_db
def test_an_unknown_or_disabled_inbox_has_no_session(widget, chat_inbox):
    """The session of a chat inbox that does not exist or is off is a 404."""
    chat_inbox.enabled = False
    chat_inbox.save(update_fields=["enabled"])

    assert widget.post_session({}).status_code == 404
    response = widget.client.post(
        "/widget/nowhere/session", {}, content_type="application/json"
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_host_site_following_the_documented_recipe_is_verified(widget):
    """hex HMAC-SHA256 of "<ts>.<user id>" keyed by the inbox's identity secret,
    as docs/widget.md tells host sites, signs a customer in."""
    ts = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{ts}.user-42".encode(), hashlib.sha256)

    data = widget.start(user={"id": "user-42", "ts": ts, "hash": digest.hexdigest()})

    assert data["visitor"]["verified"] is True
    assert widget.visitor().external_user_id == "user-42"


@pytest.mark.django_db
def test_a_name_with_control_characters_is_stored_without_them(widget):
    """A name is one line of text: NULs, line breaks and the like are dropped."""
    data = widget.start(name="Ana\x00 \r\nSilva\x07")

    assert data["visitor"]["name"] == "Ana Silva"
    assert widget.visitor().name == "Ana Silva"


@pytest.mark.django_db
def test_a_deeply_nested_session_body_is_refused_with_a_json_error(widget):
    """50,000 nested brackets get 400 invalid, like any body that is not JSON."""
    response = widget.client.post(
        "/widget/shop/session",
        "[" * 50_000 + "]" * 50_000,
        content_type="application/json",
    )

    assert (response.status_code, response.json()["error"]) == (400, "invalid")
    assert "nested deeper than" in response.json()["message"]
    assert not ChatVisitor.objects.exists()
