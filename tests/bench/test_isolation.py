"""Each part of the bench leaves this process as it found it: the Celery queue its
tasks go to, whether they run inline, the environment and the open-file limit;
so the parts run in any order, and a default run reaches the widget part after
the ingest part has sent tasks."""

import os
import resource
import uuid

import pytest
import redis
from django.conf import settings

from supportdesk.celery import app
from tests.bench.ingest import bench_queue
from tests.bench.widget import open_file_limit_raised


@pytest.fixture
def broker():
    """The test's Redis, and queue names of this test's own, deleted afterwards."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    names = [f"bench-test-{uuid.uuid4().hex[:10]}" for _ in range(2)]
    yield client, names
    for name in names:
        client.delete(
            name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}"
        )
    client.close()


def _queued(client: redis.Redis, queue: str) -> int:
    return client.llen(queue)


def test_two_parts_in_a_row_each_send_tasks_to_their_own_queue(broker):
    client, (first, second) = broker
    desk = (app.conf.task_default_queue, app.conf.task_always_eager)
    env = os.environ.get("CELERY_TASK_DEFAULT_QUEUE")

    for queue in (first, second):
        with bench_queue(queue):
            assert os.environ["CELERY_TASK_DEFAULT_QUEUE"] == queue
            app.send_task("tickets.route_ticket", args=[0])
        assert (app.conf.task_default_queue, app.conf.task_always_eager) == desk
        assert os.environ.get("CELERY_TASK_DEFAULT_QUEUE") == env

    assert (_queued(client, first), _queued(client, second)) == (1, 1)
    assert app.amqp.default_queue.name == desk[0]


def test_a_part_that_fails_gives_the_desks_queue_back(broker):
    _, (queue, _) = broker
    desk = (app.conf.task_default_queue, app.conf.task_always_eager)

    with pytest.raises(RuntimeError), bench_queue(queue):
        raise RuntimeError("the worker did not start")

    assert (app.conf.task_default_queue, app.conf.task_always_eager) == desk
    assert app.amqp.default_queue.name == desk[0]


def test_the_widget_part_gives_the_open_file_limit_back():
    before = resource.getrlimit(resource.RLIMIT_NOFILE)

    with open_file_limit_raised() as raised:
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == raised >= before[0]

    assert resource.getrlimit(resource.RLIMIT_NOFILE) == before
