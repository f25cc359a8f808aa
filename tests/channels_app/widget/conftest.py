import uuid

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import override_settings

from channels_app.models import Inbox
from supportdesk.asgi import application

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
            "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": prefix},
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

    async def connect(self, *, last_seq: int = 0, origin: str = "http://testserver"):
        self.socket = WebsocketCommunicator(
            application,
            f"/ws/widget/{self.inbox.slug}/",
            headers=[(b"origin", origin.encode()), (b"host", b"testserver")],
        )
        connected, _ = await self.socket.connect()
        assert connected
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

    async def close(self):
        await self.socket.disconnect()


@pytest.fixture
def widget(client, chat_inbox):
    return Widget(client, chat_inbox)


def run(coroutine):
    return async_to_sync(lambda: coroutine)()
