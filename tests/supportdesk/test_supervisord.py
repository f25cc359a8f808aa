"""`make run` with PostgreSQL and Redis: supportdesk/supervisord.conf keeps the
desk up when one of its processes dies."""

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.redis_server import private_redis
from tests.server import free_port
from tests.worker import database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(settings.BASE_DIR)
CONFIG = BASE_DIR / "supportdesk" / "supervisord.conf"
# The config names the programs under .venv, as `make run` installs them.
BIN = BASE_DIR / ".venv" / "bin"
TIMEOUT_SECONDS = 60


class Supervisord:
    def __init__(self, env: dict, log: Path):
        self.env = env
        self.log = log
        self.process = subprocess.Popen(
            [BIN / "supervisord", "-c", CONFIG],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        # Its programs write to its stdout; a pipe read here keeps their lines whole.
        self._copier = threading.Thread(target=self._copy_output, daemon=True)
        self._copier.start()

    def _copy_output(self) -> None:
        assert self.process.stdout is not None
        with self.log.open("ab") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def pid(self, program: str) -> int:
        """The pid supervisord knows for a program (0 while it is not running)."""
        answer = subprocess.run(
            [BIN / "supervisorctl", "-c", CONFIG, "pid", program],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
        )
        text = answer.stdout.strip()
        return int(text) if text.isdigit() else 0

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._copier.join(timeout=5)


def healthz(url: str) -> int:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
            return answer.status
    except OSError:
        return 0


def wait_for(condition, *, what: str, desk: Supervisord) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert desk.process.poll() is None, f"supervisord exited:\n{desk.output()}"
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}:\n{desk.output()}")


def test_a_killed_worker_is_started_again_while_web_and_beat_stay_up(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # A short path: the control socket's must fit in 108 bytes.
    run_dir = Path(tempfile.mkdtemp(prefix="sd-", dir="/tmp"))
    with private_redis(tmp_path) as redis_server:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_server.url,
            "PORT": str(port),
            "SUPERVISOR_RUN_DIR": str(run_dir),
            "TMPDIR": str(run_dir),
            "CELERY_CONCURRENCY": "1",
            "CELERY_TASK_DEFAULT_QUEUE": f"test-{uuid.uuid4().hex}",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CONN_MAX_AGE": "0",
            "DEBUG": "0",
            "WHITENOISE_USE_FINDERS": "1",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        desk = Supervisord(env, tmp_path / "supervisord.log")
        try:
            wait_for(lambda: healthz(url) == 200, what="/healthz", desk=desk)
            wait_for(lambda: " ready." in desk.output(), what="the worker", desk=desk)
            web, worker, beat = (desk.pid(name) for name in ("web", "worker", "beat"))
            assert 0 not in (web, worker, beat)

            os.kill(worker, signal.SIGKILL)

            assert healthz(url) == 200
            wait_for(
                lambda: desk.pid("worker") not in (0, worker),
                what="a new worker process",
                desk=desk,
            )
            wait_for(
                lambda: desk.output().count(" ready.") == 2,
                what="the new worker to be ready",
                desk=desk,
            )
            assert healthz(url) == 200
            assert (desk.pid("web"), desk.pid("beat")) == (web, beat)
        finally:
            desk.stop()
            shutil.rmtree(run_dir, ignore_errors=True)
            print(f"--- supervisord log ---\n{desk.output()}")
