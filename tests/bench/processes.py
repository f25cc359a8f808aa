"""A subprocess the bench starts, logs to a file, waits for and always stops."""

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

READY_TIMEOUT = 60


class BenchWorkerError(RuntimeError):
    pass


class LoggedProcess:
    """Subclasses build the command and say when the process is ready."""

    name = "process"

    def __init__(self, *, log_path: Path) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self, command: list[str], env: dict) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until(self, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchWorkerError(
                    f"the {self.name} exited with {self.process.returncode}; "
                    f"see {self.log_path}"
                )
            if ready():
                return
            time.sleep(0.2)
        raise BenchWorkerError(f"the {self.name} was not ready in {READY_TIMEOUT}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log:
            self._log.close()
