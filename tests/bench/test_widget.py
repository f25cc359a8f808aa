import uuid

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from supportdesk.celery import app
from tests.bench.report import Report
from tests.bench.widget import measure_widget
from tests.bench.widget_report import add_figures
from tests.worker import database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def bench_environment(monkeypatch):
    """The server and worker the bench starts talk to this run's test database,
    on a channel layer and cache of their own; this process's Celery settings,
    which the bench points at its queue, are restored afterwards."""
    prefix = f"test-bench-widget-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("DATABASE_URL", database_url())
    monkeypatch.setenv("CHANNEL_LAYER_PREFIX", prefix)
    monkeypatch.setenv("CACHE_KEY_PREFIX", prefix)
    monkeypatch.setenv("CELERY_TASK_DEFAULT_QUEUE", app.conf.task_default_queue)
    saved = {
        "task_always_eager": app.conf.task_always_eager,
        "task_default_queue": app.conf.task_default_queue,
    }
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": settings.REDIS_URL, "socket_timeout": None}],
                "prefix": prefix,
            },
        }
    }
    try:
        with override_settings(CHANNEL_LAYERS=layers):
            yield
    finally:
        for name, value in saved.items():
            setattr(app.conf, name, value)
        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
        client.close()


def test_a_small_widget_bench_holds_its_sockets_and_times_every_reply(
    bench_environment, teams, tmp_path
):
    held, talked = measure_widget(
        sockets=6,
        conversations=3,
        replies=6,
        rate=20.0,
        visitor_rate=10.0,
        concurrency=1,
        log_dir=tmp_path,
        timeout=60.0,
    )

    assert (held.opened, held.held, held.held_at_end) == (6, 6, 6)
    assert held.errors == ()
    assert held.rss_kib[1] > 0 and held.file_limit > 6
    # Each visitor who wrote has a ticket, and hears every agent reply once.
    assert talked.tickets == talked.conversations == 3
    assert (talked.replies.sent, talked.replies.arrived) == (6, 6)
    assert talked.reply_stored.arrived == talked.reply_relayed.arrived == 6
    assert talked.first_messages.arrived == 3
    assert (talked.visitor_messages.sent, talked.visitor_messages.arrived) == (6, 6)
    assert all(ms > 0 for ms in talked.replies.samples)

    report = Report()
    add_figures(report, held, talked)
    verdicts = {metric.name: metric.verdict for metric in report.metrics}

    def verdict(prefix: str) -> str:
        return next(v for name, v in verdicts.items() if name.startswith(prefix))

    assert verdict("widget sockets still open") == "ok"
    assert verdict("widget replies arrived") == "ok"
    assert verdict("widget: conversations with an open ticket") == "ok"
    assert verdict("widget visitor messages heard on the desk") == "ok"
    # Six sockets are not the two thousand the desk must hold.
    assert verdict("widget sockets open at once") == "NOT MET"
