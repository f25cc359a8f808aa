import os
import subprocess
import sys

from django.conf import settings

from tests.bench.command import main


def test_the_bench_runs_as_a_module_of_tests_without_being_an_installed_app():
    """`python -m tests.bench --help` sets Django up itself and lists the options
    `make bench` passes through BENCH_ARGS."""
    assert not any(app.startswith("tests") for app in settings.INSTALLED_APPS)
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--help"],
        cwd=settings.BASE_DIR,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    for option in ("--only", "--reseed", "--skip-widget", "--api-seconds"):
        assert option in done.stdout


def test_a_depth_beyond_the_heavy_customer_is_refused_before_any_database(capsys):
    """A --depth the heavy customer's timeline cannot reach ends the run with a
    message, before the bench looks for its database."""
    code = main(["--depth", "10", "--heavy-events", "10"])

    assert code == 1
    assert "--depth must be below --heavy-events" in capsys.readouterr().err


def test_a_worker_setting_without_a_value_is_refused(capsys, monkeypatch):
    """--worker-env takes NAME=VALUE; a bare name ends the run with a message."""
    monkeypatch.setattr("tests.bench.command.database.check_bench_database", _no_db)

    code = main(["--worker-env", "CONCURRENCY"])

    assert code == 1
    assert "--worker-env takes NAME=VALUE" in capsys.readouterr().err


def _no_db():
    raise AssertionError("the database was looked for")
