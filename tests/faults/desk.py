"""A whole desk in real processes, for tests that break parts of it on purpose.

A Redis server of its own (tests/redis_server.py: it can be killed and started
again on its port), a daphne web process, a Celery worker (prefork, two processes,
as deployed) and a beat, all on this run's test database. The intake's lease and
sweeps are short, so a fault is over in seconds rather than the production minute.
"""

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from channels_app.adapters.meta import hub_signature
from tests.redis_server import RedisServer
from tests.server import free_port
from tests.worker import database_url

BASE_DIR = Path(settings.BASE_DIR)
READY_TIMEOUT_SECONDS = 30
APP_SECRET = "app-secret-for-fault-tests"
PHONE_NUMBER_ID = "1122334455667"
# Short, so that a record a dead worker held is taken over within seconds.
FAST_INTAKE = {
    "INBOUND_LEASE_SECONDS": "3",
    "INBOUND_SWEEP_SECONDS": "1",
    "ROUTING_SWEEP_SECONDS": "1",
    "ROUTING_SWEEP_AFTER_SECONDS": "2",
}


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict
    log: Path
    popen: subprocess.Popen | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as log:
            log.write(f"\n--- start {self.starts} ---\n".encode())
            log.flush()
            # A session of its own: a kill reaches the pool's children as well.
            self.popen = subprocess.Popen(
                self.command,
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """kill -9 of the process and every process it started."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


class FaultDesk:
    def __init__(self, log_dir: Path, queue: str):
        self.redis = RedisServer(log_dir / "redis.log")
        self.web_port = free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": self.redis.url,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CHANNEL_LAYER_PREFIX": "faults",
            "CACHE_KEY_PREFIX": "faults",
            "CONN_MAX_AGE": "0",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PUBLIC_BASE_URL": self.url,
            **FAST_INTAKE,
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.web = Process(
            "web",
            [
                _bin("daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(self.web_port),
                "supportdesk.asgi:application",
            ],
            env,
            log_dir / "web.log",
        )
        self.worker = Process(
            "worker",
            [
                _bin("celery"),
                "-A",
                "supportdesk",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "-Q",
                queue,
                f"--hostname=faults-{queue}@%h",
            ],
            env,
            log_dir / "worker.log",
        )
        self.beat = Process(
            "beat",
            [
                _bin("celery"),
                "-A",
                "supportdesk",
                "beat",
                "--loglevel=INFO",
                f"--schedule={log_dir / 'beat-schedule'}",
            ],
            env,
            log_dir / "beat.log",
        )
        self.processes = [self.web, self.worker, self.beat]

    def start(self) -> None:
        self.redis.start()
        self.web.start()
        self.start_worker()
        self.beat.start()
        self._wait(self._serving, "the web process answering /healthz", self.web)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.redis.kill()

    def logs(self) -> str:
        return (
            "\n".join(
                f"--- {process.name} log ---\n{process.output()[-6000:]}"
                for process in self.processes
            )
            + f"\n--- redis log ---\n{self.redis.log.read_text(errors='replace')}"
        )

    # ----------------------------------------------------------------- faults

    def start_worker(self) -> None:
        ready_before = self.worker.output().count(" ready.")
        self.worker.start()
        self._wait(
            lambda: self.worker.output().count(" ready.") > ready_before,
            "the worker ready",
            self.worker,
        )

    @staticmethod
    def cut_database_connections() -> int:
        """Terminate every other session on the test database, as a database
        restart or a network cut would; returns how many were cut."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return cursor.fetchone()[0]

    # ---------------------------------------------------------------- waiting

    def _serving(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def _wait(self, condition, what: str, process: Process) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not process.alive():
                pytest.fail(f"{process.name} exited while waiting for {what}")
            if condition():
                return
            time.sleep(0.1)
        pytest.fail(f"no {what} in {READY_TIMEOUT_SECONDS}s:\n{self.logs()}")


@dataclass
class Stream:
    """Signed WhatsApp text messages posted to the desk at a steady rate, each
    posted again after a refusal or a dropped connection, as Meta retries."""

    desk: FaultDesk
    template: dict
    count: int
    senders: int = 12
    rate: float = 40.0
    answers: Counter = field(default_factory=Counter)
    retries: int = 0
    sent: int = 0
    _thread: threading.Thread | None = None

    def wamid(self, number: int) -> str:
        return f"wamid.fault-{number}"

    def body(self, number: int) -> bytes:
        document = json.loads(json.dumps(self.template))
        value = document["entry"][0]["changes"][0]["value"]
        sender = f"1415555{number % self.senders:04d}"
        value["metadata"]["phone_number_id"] = PHONE_NUMBER_ID
        message = value["messages"][0]
        message.update(
            id=self.wamid(number),
            timestamp=str(int(time.time())),
            text={"body": f"Message {number}: where is my parcel?"},
            **{"from": sender},
        )
        value["contacts"][0]["wa_id"] = sender
        value["contacts"][0]["profile"]["name"] = f"Sender {number % self.senders}"
        return json.dumps(document).encode()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def wait_until_sent(self, number: int) -> None:
        while self.sent < number:
            assert self._thread is not None and self._thread.is_alive()
            time.sleep(0.02)

    def join(self, timeout: float = 120) -> None:
        assert self._thread is not None
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the stream did not finish"

    def _run(self) -> None:
        for number in range(self.count):
            started = time.monotonic()
            while self._post(number) != 200:
                self.retries += 1
                time.sleep(0.2)
            self.sent += 1
            time.sleep(max(0.0, 1 / self.rate - (time.monotonic() - started)))

    def _post(self, number: int) -> int:
        body = self.body(number)
        conn = http.client.HTTPConnection("127.0.0.1", self.desk.web_port, timeout=10)
        try:
            conn.request(
                "POST",
                "/webhooks/whatsapp/support/",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": hub_signature(APP_SECRET, body),
                },
            )
            answer = conn.getresponse()
            answer.read()
            status = answer.status
        except OSError:
            status = 0
        finally:
            conn.close()
        self.answers[status] += 1
        return status
