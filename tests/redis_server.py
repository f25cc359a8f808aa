"""A Redis server of a test's own, on a free loopback port, that it may kill.

It keeps nothing on disk, like a Redis restarted without persistence: what was
queued in it is gone after a kill.
"""

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.server import free_port

REDIS_SERVER = "/usr/bin/redis-server"
READY_TIMEOUT_SECONDS = 10


class RedisServer:
    def __init__(self, log: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the server on its port and wait until it answers."""
        command = [
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT
            )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(f"redis-server exited:\n{self.log.read_text()}")
                with contextlib.suppress(redis.ConnectionError):
                    if client.ping():
                        return
                time.sleep(0.05)
        finally:
            client.close()
        pytest.fail(f"redis-server did not answer in {READY_TIMEOUT_SECONDS}s")

    def kill(self) -> None:
        """kill -9: clients see their connections drop, and the data is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


@contextmanager
def private_redis(log_dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(log_dir / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()
