import os

import pytest
from django.conf import settings

from supportdesk.celery import app
from tests.parallel import worker_names


def test_two_workers_of_one_run_get_different_redis_names():
    """Workers of one run share its prefixes from the environment; each adds its own
    id, so neither reads the other's channel groups, cache keys or tasks."""
    run = {"CHANNEL_LAYER_PREFIX": "test-asgi-7", "CACHE_KEY_PREFIX": "test-cache-7"}
    first, second = dict(run), dict(run)

    names = worker_names(first, "gw0"), worker_names(second, "gw1")

    assert names[0] == {
        "CHANNEL_LAYER_PREFIX": "test-asgi-7-gw0",
        "CACHE_KEY_PREFIX": "test-cache-7-gw0",
        "CELERY_TASK_DEFAULT_QUEUE": "desk-gw0",
    }
    assert names[1]["CACHE_KEY_PREFIX"] == "test-cache-7-gw1"
    assert first == names[0] and second == names[1]


def test_asking_again_keeps_the_names():
    environ = {"CACHE_KEY_PREFIX": "test-cache"}
    once = worker_names(environ, "gw1")

    assert worker_names(environ, "gw1") == once


@pytest.mark.skipif(
    not os.environ.get("PYTEST_XDIST_WORKER"), reason="runs under pytest-xdist only"
)
def test_this_worker_uses_its_own_names_in_process_and_in_the_environment():
    """What this process publishes, caches and queues, and what the servers and
    workers it starts inherit, carries this worker's id."""
    suffix = "-" + os.environ["PYTEST_XDIST_WORKER"]

    assert settings.CACHES["default"]["KEY_PREFIX"].endswith(suffix)
    assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"].endswith(suffix)
    assert app.conf.task_default_queue.endswith(suffix)
    for name in ("CACHE_KEY_PREFIX", "CHANNEL_LAYER_PREFIX"):
        assert os.environ[name].endswith(suffix)
