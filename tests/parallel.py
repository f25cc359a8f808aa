"""Keeps the processes of a parallel run (pytest-xdist, `make test`) apart.

pytest-django gives each worker a test database of its own (test_<name>_gw0,
test_<name>_gw1, ...). What else the workers would share lives in Redis: the
channel layer's groups (ticket.1 exists in every worker's database), the cache
that holds rate-limit counters (token 1 and 127.0.0.1 exist in every worker too),
and Celery's default queue. Each worker suffixes those names with its id.

pytest-django reads the settings before any conftest is imported, so the names
are changed twice: in the environment, which the Celery workers and desk servers
a test starts inherit, and in the settings this process already loaded.
"""

import os
from collections.abc import MutableMapping

# Environment variables the settings read, with the settings' own defaults.
PER_WORKER = {
    "CHANNEL_LAYER_PREFIX": "asgi",
    "CACHE_KEY_PREFIX": "desk",
    "CELERY_TASK_DEFAULT_QUEUE": "desk",
}


def worker_names(environ: MutableMapping[str, str], worker: str) -> dict[str, str]:
    """The Redis names of `worker`, written into `environ`; a second call for the
    same worker changes nothing."""
    names = {}
    for name, default in PER_WORKER.items():
        value = environ.get(name) or default
        if not value.endswith(f"-{worker}"):
            value = f"{value}-{worker}"
        environ[name] = names[name] = value
    return names


def isolate_this_worker() -> None:
    """Give this xdist worker its own Redis names; outside xdist, do nothing."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    from django.conf import settings

    from supportdesk.celery import app

    names = worker_names(os.environ, worker)
    layer = settings.CHANNEL_LAYERS["default"]
    # The in-memory layer and cache of the embedded mode are per process already.
    if "prefix" in layer.get("CONFIG", {}):
        layer["CONFIG"]["prefix"] = names["CHANNEL_LAYER_PREFIX"]
    if "KEY_PREFIX" in settings.CACHES["default"]:
        settings.CACHES["default"]["KEY_PREFIX"] = names["CACHE_KEY_PREFIX"]
    settings.CELERY_TASK_DEFAULT_QUEUE = names["CELERY_TASK_DEFAULT_QUEUE"]
    app.conf.task_default_queue = names["CELERY_TASK_DEFAULT_QUEUE"]
