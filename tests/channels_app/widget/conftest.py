import time
import uuid

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client, override_settings

from channels_app.models import ChatVisitor, Inbox
from channels_app.widget.tokens import user_hash
from supportdesk.asgi import application
from tickets.models import Ticket

HOST_ORIGIN = "http://shop.example"
SECRET = "host-site-secret"
# Waiting for a message that must come; no test relies on this being short.
RECEIVE_TIMEOUT = 10


@pytest.fixture(autouse=True)
def own_layer():
    """A Redis channel layer and cache prefix of this test's own."""
    prefix = f"test-widget-{uuid.uuid4().hex[:12]}"
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": settings.REDIS_URL, "socket_timeout": None}],
                "prefix": prefix,
            },
        }
    }
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    with override_settings(CHANNEL_LAYERS=layers, CACHES=caches):
        yield
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def chat_inbox(db):
    return Inbox.objects.create(
        adapter=Inbox.Adapter.CHAT,
        name="Shop chat",
        slug="shop",
        config={"allowed_origins": [HOST_ORIGIN], "email_field": "optional"},
        secrets={"identity_secret": SECRET},
    )


class Widget:
    """A visitor's widget: a session over HTTP, then the socket."""

    def __init__(self, client, inbox, *, token: str = ""):
        self.client = client
        self.inbox = inbox
        self.token = token
        self.socket = None

    def start(self, **body) -> dict:
        headers = {"HTTP_X_WIDGET_TOKEN": self.token} if self.token else {}
        response = self.client.post(
            f"/widget/{self.inbox.slug}/session",
            body,
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 200, response.content
        data = response.json()
        self.token = data["token"]
        return data

    def post_session(self, body, **headers):
        """The raw session response, whatever its status."""
        if self.token:
            headers.setdefault("HTTP_X_WIDGET_TOKEN", self.token)
        return self.client.post(
            f"/widget/{self.inbox.slug}/session",
            body,
            content_type="application/json",
            **headers,
        )

    def upload(self, *, client_id: str, file, text: str = "", token=None):
        """POST a file as the widget does; the response as it came."""
        return self.client.post(
            f"/widget/{self.inbox.slug}/upload",
            {"client_id": client_id, "text": text, "file": file},
            HTTP_X_WIDGET_TOKEN=self.token if token is None else token,
        )

    async def open_socket(self, *, origin: str = "http://testserver", path=None):
        """The handshake alone; True when the socket was accepted."""
        self.socket = WebsocketCommunicator(
            application,
            path or f"/ws/widget/{self.inbox.slug}/",
            headers=[(b"origin", origin.encode()), (b"host", b"testserver")],
        )
        connected, _ = await self.socket.connect()
        if not connected:
            # The browser's side of a refused handshake: the consumer ends too.
            await self.close()
        return connected

    async def connect(self, *, last_seq: int = 0, origin: str = "http://testserver"):
        assert await self.open_socket(origin=origin)
        await self.socket.send_json_to(
            {"type": "hello", "token": self.token, "last_seq": last_seq}
        )
        ready = await self.receive()
        assert ready["type"] == "ready", ready
        backlog = []
        while (item := await self.receive())["type"] != "synced":
            backlog.append(item["entry"])
        return ready, backlog, item

    async def receive(self, timeout: float = RECEIVE_TIMEOUT) -> dict:
        return await self.socket.receive_json_from(timeout=timeout)

    async def receive_until(self, kind: str) -> dict:
        while True:
            item = await self.receive()
            if item["type"] == kind:
                return item

    async def send(self, **message):
        await self.socket.send_json_to(message)

    async def close_code(self) -> int:
        """How the server closed the socket (it must close it)."""
        output = await self.socket.receive_output(timeout=RECEIVE_TIMEOUT)
        assert output["type"] == "websocket.close", output
        await self.close()
        return output.get("code", 1000)

    async def hears_nothing(self, timeout: float = 0.3) -> bool:
        return await self.socket.receive_nothing(timeout=timeout)

    async def close(self):
        await self.socket.disconnect()

    def visitor(self) -> ChatVisitor:
        from channels_app.widget.tokens import visitor_for_token

        return visitor_for_token(self.token, self.inbox)


@pytest.fixture
def widget(client, chat_inbox):
    return Widget(client, chat_inbox)


@pytest.fixture
def new_widget(chat_inbox):
    """Another browser: a widget with a client (and storage) of its own."""

    def make(inbox=None) -> Widget:
        return Widget(Client(), inbox or chat_inbox)

    return make


def signed_user(user_id: str = "user-42", *, ts=None, secret: str = SECRET) -> dict:
    """What the host site puts on the page for its signed-in user."""
    ts = int(time.time()) if ts is None else ts
    return {
        "id": user_id,
        "ts": ts,
        "hash": user_hash(secret, user_id=user_id, timestamp=ts),
    }


def ticket_of(widget: Widget) -> Ticket:
    """The chat ticket the widget's visitor is talking on."""
    return Ticket.objects.get(
        conversation_key=f"visitor:{widget.visitor().public_id.hex}"
    )


async def desk_socket(user) -> WebsocketCommunicator:
    """An agent's desk socket, signed in through a real session cookie."""

    def cookie():
        browser = Client()
        browser.force_login(user)
        return browser.cookies[settings.SESSION_COOKIE_NAME].value

    session = await sync_to_async(cookie)()
    socket = WebsocketCommunicator(
        application,
        "/ws/desk/",
        headers=[
            (b"origin", b"http://testserver"),
            (b"host", b"testserver"),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()),
        ],
    )
    accepted, _ = await socket.connect()
    assert accepted
    return socket


async def desk_receive_until(socket, kind: str) -> dict:
    while True:
        item = await socket.receive_json_from(timeout=RECEIVE_TIMEOUT)
        if item["type"] == kind:
            return item


def run(coroutine):
    return async_to_sync(lambda: coroutine)()


@pytest.fixture(autouse=True)
def _inboxes_read_fresh(monkeypatch):
    """Each test makes its own inbox under the same slug, and some change it
    between sockets: the consumer's per-process inbox cache is off here."""
    from channels_app.widget import consumer

    consumer._inboxes.clear()
    monkeypatch.setattr(consumer, "INBOX_CACHE_SECONDS", 0)
