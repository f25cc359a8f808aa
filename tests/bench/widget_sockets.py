"""The bench's end of widget and desk sockets, on an event loop of its own.

Every socket lives on one asyncio loop in a thread of the bench's, so the main
thread can call the desk's actions meanwhile. Whatever a socket hears is stamped
on arrival by the text it carries: each message the bench sends has a text of
its own, and a latency is the time from sending a text to hearing it.
"""

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from supportdesk import events
from tests.bench.http_load import percentile

# Handshakes in flight at once: Twisted listens with a backlog of 50, and a
# connection dropped from a full backlog is retried by the kernel a second later.
OPEN_PARALLEL = 50
HANDSHAKE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Latencies:
    sent: int
    # Milliseconds, of the ones that arrived.
    samples: tuple[float, ...]

    @property
    def arrived(self) -> int:
        return len(self.samples)

    def ms(self, fraction: float) -> float:
        return percentile(list(self.samples), fraction)


def latencies(sent: dict[str, float], arrived: dict[str, float]) -> Latencies:
    return Latencies(
        sent=len(sent),
        samples=tuple(
            (arrived[text] - at) * 1000 for text, at in sent.items() if text in arrived
        ),
    )


def wait_for(texts: list[str], arrived: dict[str, float], timeout: float) -> None:
    """Until every text has arrived, or time is up."""
    deadline = time.monotonic() + timeout
    while any(text not in arrived for text in texts):
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)


class Fleet:
    """Widget sockets of many visitors and one desk socket, against one server."""

    def __init__(self, *, host: str, port: int, slug: str) -> None:
        self.origin = f"http://{host}:{port}"
        self.widget_url = f"ws://{host}:{port}/ws/widget/{slug}/"
        self.desk_url = f"ws://{host}:{port}/ws/desk/"
        self.sockets: list[ClientConnection] = []
        self.widgets: list[ClientConnection] = []
        # The open socket of each visitor token.
        self.widget_for: dict[str, ClientConnection] = {}
        # Text → when it reached a widget socket, and the desk socket.
        self.on_widget: dict[str, float] = {}
        self.on_desk: dict[str, float] = {}
        # Text → just before a visitor's socket sent it.
        self.said: dict[str, float] = {}
        self._listeners: list[asyncio.Task] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine, timeout: float | None = None):
        """Run on the fleet's loop and wait for the outcome."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self, coroutine: Coroutine):
        """Run on the fleet's loop; the caller waits on the future when it likes."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    async def _connect(self, url: str, **headers) -> ClientConnection:
        return await connect(
            url,
            origin=self.origin,
            additional_headers=headers,
            compression=None,
            # The server pings; the client library answers without the bench.
            ping_interval=None,
            open_timeout=HANDSHAKE_TIMEOUT,
        )

    async def _open_one(self, token: str, gate: asyncio.Semaphore):
        """A socket through hello up to "synced", and how long that took in ms."""
        async with gate:
            started = time.perf_counter()
            socket = await self._connect(self.widget_url)
            try:
                await socket.send(
                    json.dumps({"type": "hello", "token": token, "last_seq": 0})
                )
                async with asyncio.timeout(HANDSHAKE_TIMEOUT):
                    while json.loads(await socket.recv())["type"] != "synced":
                        pass
            except BaseException:
                await socket.close()
                raise
            return socket, (time.perf_counter() - started) * 1000

    async def open_widgets(
        self, tokens: list[str], *, keep: bool = True, parallel: int = OPEN_PARALLEL
    ):
        """A socket per visitor token; (the sockets, handshake ms, errors).
        Sockets not kept are closed again at once."""
        gate = asyncio.Semaphore(parallel)
        outcomes = await asyncio.gather(
            *(self._open_one(token, gate) for token in tokens), return_exceptions=True
        )
        opened, errors = [], []
        for token, outcome in zip(tokens, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                errors.append(f"{type(outcome).__name__}: {outcome}"[:200])
            else:
                opened.append(outcome)
                if keep:
                    self.widget_for[token] = outcome[0]
        if keep:
            for socket, _ in opened:
                self.sockets.append(socket)
                self.widgets.append(socket)
                self._listen(socket, self._heard_on_widget)
        else:
            await asyncio.gather(*(socket.close() for socket, _ in opened))
        return [socket for socket, _ in opened], [ms for _, ms in opened], errors

    async def open_desk(self, session_cookie: str) -> None:
        """A signed-in agent's desk socket, as the workspace page opens it."""
        socket = await self._connect(self.desk_url, Cookie=session_cookie)
        self.sockets.append(socket)
        self._listen(socket, self._heard_on_desk)

    def _listen(self, socket: ClientConnection, heard) -> None:
        async def listen():
            try:
                async for raw in socket:
                    heard(time.perf_counter(), json.loads(raw))
            except ConnectionClosed:
                pass

        self._listeners.append(self.loop.create_task(listen()))

    def _heard_on_widget(self, at: float, item: dict) -> None:
        if item.get("type") == "entry" and item["entry"].get("kind") == "message":
            self.on_widget.setdefault(item["entry"].get("text", ""), at)

    def _heard_on_desk(self, at: float, item: dict) -> None:
        if item.get("type") == events.MESSAGE_CREATED:
            self.on_desk.setdefault(item.get("text", ""), at)

    async def say(self, socket: ClientConnection, text: str) -> None:
        """Send a visitor's message; one the server closed the socket on is
        counted as sent and never heard."""
        self.said[text] = time.perf_counter()
        message = {"type": "message", "client_id": uuid.uuid4().hex, "text": text}
        with contextlib.suppress(ConnectionClosed):
            await socket.send(json.dumps(message))

    async def chatter(
        self, sockets: list[ClientConnection], texts: list[str], rate: float
    ) -> None:
        """A message each, round the sockets, due at a steady rate whether or not
        the server keeps up."""
        started = self.loop.time()
        for number, text in enumerate(texts):
            await asyncio.sleep(max(0.0, started + number / rate - self.loop.time()))
            await self.say(sockets[number % len(sockets)], text)

    def held(self) -> int:
        """Widget sockets still open."""
        return sum(1 for socket in self.widgets if socket.state is State.OPEN)

    def close(self) -> None:
        async def close_all():
            await asyncio.gather(
                *(socket.close() for socket in self.sockets), return_exceptions=True
            )
            for listener in self._listeners:
                listener.cancel()

        try:
            self.run(close_all(), timeout=120)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            if not self.loop.is_running():
                self.loop.close()
