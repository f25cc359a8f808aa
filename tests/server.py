"""A real desk server process (daphne) for end-to-end tests (marked `worker`).

The server talks to this run's test database and to Redis under a channel-layer
prefix of its module's own, so events of other runs on the same Redis never reach
it; its tasks go to a worker of tests/worker.py. Tests that use it need
`django_db(transaction=True)`, or data committed otherwise: the server sees only
what is committed.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.worker import Worker, database_url

BASE_DIR = Path(settings.BASE_DIR)
READY_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class DeskServer:
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture(scope="module")
def layer_prefix():
    """A channel-layer prefix for this module's server, worker and test process;
    the environment is restored for the modules after it."""
    prefix = f"test-desk-{uuid.uuid4().hex[:10]}"
    saved = os.environ.get("CHANNEL_LAYER_PREFIX")
    # The worker fixture hands this process's environment to the worker.
    os.environ["CHANNEL_LAYER_PREFIX"] = prefix
    yield prefix
    if saved is None:
        os.environ.pop("CHANNEL_LAYER_PREFIX", None)
    else:
        os.environ["CHANNEL_LAYER_PREFIX"] = saved
    _delete_keys(f"{prefix}*")


def _delete_keys(pattern: str) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        for key in client.scan_iter(match=pattern):
            client.delete(key)
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving_desk(
    *, worker: Worker, layer_prefix: str, log_dir: Path, extra_env: dict
) -> Iterator[DeskServer]:
    """A daphne process serving the desk until the block ends; its tasks go to
    `worker`."""
    assert settings.REDIS_URL, "a desk server needs REDIS_URL"
    port = free_port()
    server = DeskServer(url=f"http://127.0.0.1:{port}", log=log_dir / "daphne.log")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CHANNEL_LAYER_PREFIX": layer_prefix,
        "CELERY_TASK_DEFAULT_QUEUE": worker.queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CONN_MAX_AGE": "0",
        "DEBUG": "0",
        "WHITENOISE_USE_FINDERS": "1",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        **extra_env,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    command = [
        str(Path(sys.executable).with_name("daphne")),
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "supportdesk.asgi:application",
    ]
    with server.log.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_serving(process, server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # Shown by pytest only when the test failed.
        print(f"--- server log ---\n{server.output()}")


def _wait_until_serving(process: subprocess.Popen, server: DeskServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the server exited with {process.returncode}:\n{server.output()}"
            )
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the server did not answer in {READY_TIMEOUT_SECONDS}s")
