"""A real Celery worker process for end-to-end tests (marked `worker`).

The worker reads a queue of its own, so workers of other desks on the same Redis
never take its tasks, and talks to the test database, so it sees what the test
commits. Tests that use it need `django_db(transaction=True)`.
"""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from supportdesk.celery import app

BASE_DIR = Path(settings.BASE_DIR)
READY_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Worker:
    queue: str
    log: Path
    process: subprocess.Popen | None = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def database_url() -> str:
    """The URL of the database this test process uses (the test database)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    at = "@" if credentials else ""
    return f"postgres://{credentials}{at}{host}{port}/{quote(db['NAME'], safe='')}"


def _wait_until_ready(process: subprocess.Popen, worker: Worker) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the worker exited with {process.returncode}:\n{worker.output()}"
            )
        if " ready." in worker.output():
            return
        time.sleep(0.1)
    pytest.fail(
        f"the worker was not ready in {READY_TIMEOUT_SECONDS}s:\n{worker.output()}"
    )


@pytest.fixture
def desk_worker(transactional_db, tmp_path):
    """Start a worker on a fresh queue and send this process's tasks to it."""
    with running_worker(tmp_path) as worker:
        yield worker


@contextmanager
def running_worker(
    log_dir: Path, *, redis_url: str | None = None, prefork: bool = False
) -> Iterator[Worker]:
    """A worker on a fresh queue, this process's tasks sent to it, until the block
    ends; the test database must exist (it is the one the worker uses). With
    `redis_url` the worker uses that Redis (broker, channel layer and cache), and
    this process's tasks reach it only when sent on a connection to it. `prefork`
    runs it as deployed (two pool processes) rather than in one process."""
    queue = f"test-{uuid.uuid4().hex}"
    redis_url = redis_url or settings.REDIS_URL
    log = log_dir / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CONN_MAX_AGE": "0",
    }
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "supportdesk",
        "worker",
        "--loglevel=INFO",
        *(["--concurrency=2"] if prefork else ["--concurrency=1", "-P", "solo"]),
        "-Q",
        queue,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--hostname={queue}@%h",
    ]
    saved = {
        "task_always_eager": app.conf.task_always_eager,
        "task_default_queue": app.conf.task_default_queue,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    worker = Worker(queue=queue, log=log, process=process)
    try:
        _wait_until_ready(process, worker)
        app.conf.task_always_eager = False
        app.conf.task_default_queue = worker.queue
        yield worker
    finally:
        for name, value in saved.items():
            setattr(app.conf, name, value)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # Shown by pytest only when the test failed.
        print(f"--- worker log ({worker.queue}) ---\n{worker.output()}")
        _delete_queue(worker.queue, redis_url)


def _delete_queue(queue: str, redis_url: str) -> None:
    """Drop the queue's list and bindings from Redis; its name is unique to the test."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
