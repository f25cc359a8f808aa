"""The bench deletes what it made in Redis at the end of a run, and only that:
its queues and their bindings, its channel-layer and cache keys, its entries in
kombu's shared keys; the desk's keys stay."""

import json
import uuid

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from tests.bench import redis_keys


def _layers(prefix: str) -> dict:
    default = settings.CHANNEL_LAYERS["default"]
    return {"default": {**default, "CONFIG": {**default["CONFIG"], "prefix": prefix}}}


@pytest.fixture
def names(monkeypatch):
    """Bench names of this test's own, so parallel tests' keys are never seen."""
    mark = f"bench-{uuid.uuid4().hex[:8]}-"
    monkeypatch.setattr(redis_keys, "QUEUE_PREFIX", mark)
    layers = _layers(f"{mark}asgi")
    caches = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"{mark}cache"}}
    client = redis.Redis.from_url(settings.REDIS_URL)
    desk = [f"desk-{uuid.uuid4().hex[:8]}-{n}" for n in range(2)]
    with override_settings(CHANNEL_LAYERS=layers, CACHES=caches):
        yield client, mark, desk
    client.delete(*desk)
    client.srem("_kombu.binding.celery.pidbox", f"\x06\x16\x06\x16{desk[0]}")
    client.close()


def test_the_bench_keys_go_and_the_desks_stay(names):
    client, mark, desk = names
    queue = f"{mark}worker"
    client.rpush(queue, "a task")
    client.sadd(f"_kombu.binding.{queue}", f"{queue}\x06\x16\x06\x16{queue}")
    client.rpush(f"{mark}{uuid.uuid4().hex}@host.celery.pidbox", "a reply")
    client.zadd(f"{mark}asgi:group:widget.abc", {"specific.xyz": 1})
    client.set(f"{mark}cache:1:presence", "1")
    pidbox = "_kombu.binding.celery.pidbox"
    client.sadd(pidbox, f"\x06\x16\x06\x16{mark}worker@host.celery.pidbox")
    client.sadd(pidbox, f"\x06\x16\x06\x16{desk[0]}")
    client.hset("unacked", f"{mark}tag", json.dumps([{}, queue, queue]))
    client.zadd("unacked_index", {f"{mark}tag": 1})
    for key in desk:
        client.set(key, "the desk's")

    before = redis_keys.count_keys()
    deleted = redis_keys.delete_bench_keys()
    after = redis_keys.count_keys()

    assert before.bench == deleted == 7
    assert after.bench == 0
    assert [client.get(key) for key in desk] == [b"the desk's", b"the desk's"]
    assert client.sismember(pidbox, f"\x06\x16\x06\x16{desk[0]}")
    assert not client.hexists("unacked", f"{mark}tag")
    assert client.zscore("unacked_index", f"{mark}tag") is None


def test_a_prefix_without_bench_in_it_is_the_desks_and_stays(names):
    client, _, desk = names
    layers = _layers(desk[0])
    client.set(f"{desk[0]}:group:team.1", "the desk's")
    try:
        with override_settings(CHANNEL_LAYERS=layers):
            redis_keys.delete_bench_keys()
        assert client.get(f"{desk[0]}:group:team.1") == b"the desk's"
    finally:
        client.delete(f"{desk[0]}:group:team.1")
