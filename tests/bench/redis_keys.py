"""The bench's keys in Redis: counted before and after a run, and deleted at its end.

What the bench creates is named by it: Celery queues, their bindings and the
workers' pidbox queues all start with "bench-" (queue names and worker hostnames),
and `make bench` gives the channel layer and the cache prefixes of their own
(CHANNEL_LAYER_PREFIX, CACHE_KEY_PREFIX). A prefix without "bench" in it is the
desk's, and is never touched. Kombu also keeps some shared keys (the pidbox
bindings, the unacknowledged messages): only the bench's entries leave them.
"""

import json
from dataclasses import dataclass

import redis
from django.conf import settings

MARK = "bench"
QUEUE_PREFIX = f"{MARK}-"
# Kombu's keys that hold entries of every queue on the broker.
SHARED_SETS = ("_kombu.binding.celery.pidbox",)
SHARED_SORTED_SETS = ("_kombu.binding_deadlines",)
UNACKED, UNACKED_INDEX = "unacked", "unacked_index"


@dataclass(frozen=True)
class KeyCount:
    # Every key of the bench's Redis database, whoever made it.
    total: int
    # The bench's keys, and its entries in kombu's shared keys.
    bench: int


def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def bench_patterns() -> list[str]:
    patterns = [
        f"{QUEUE_PREFIX}*",
        f"_kombu.binding.{QUEUE_PREFIX}*",
        f"_kombu.binding_permanent.{QUEUE_PREFIX}*",
    ]
    layer = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix", "")
    if MARK in layer:
        patterns.append(f"{layer}*")
    cache = settings.CACHES["default"].get("KEY_PREFIX", "")
    if MARK in cache:
        patterns.append(f"{cache}:*")
    return patterns


def _bench_keys(db: redis.Redis) -> set[bytes]:
    return {key for pattern in bench_patterns() for key in db.scan_iter(match=pattern)}


def _is_bench(member: bytes) -> bool:
    return QUEUE_PREFIX.encode() in member


def _bench_unacked(db: redis.Redis) -> list[bytes]:
    """Delivery tags of unacknowledged messages bound for a bench queue: kombu
    would put them back on that queue once their visibility timeout ran out."""
    tags = []
    for tag, entry in db.hscan_iter(UNACKED):
        try:
            _message, _exchange, routing_key = json.loads(entry)
        except (TypeError, ValueError):
            continue
        if str(routing_key).startswith(QUEUE_PREFIX):
            tags.append(tag)
    return tags


def _shared_entries(db: redis.Redis) -> dict[str, list[bytes]]:
    found = {
        name: [member for member in db.smembers(name) if _is_bench(member)]
        for name in SHARED_SETS
    }
    for name in SHARED_SORTED_SETS:
        found[name] = [m for m in db.zrange(name, 0, -1) if _is_bench(m)]
    found[UNACKED] = _bench_unacked(db)
    return found


def count_keys() -> KeyCount:
    db = client()
    try:
        shared = sum(len(entries) for entries in _shared_entries(db).values())
        return KeyCount(total=db.dbsize(), bench=len(_bench_keys(db)) + shared)
    finally:
        db.close()


def delete_bench_keys() -> int:
    """Delete the bench's keys and entries; how many there were."""
    db = client()
    try:
        keys = sorted(_bench_keys(db))
        shared = _shared_entries(db)
        for start in range(0, len(keys), 500):
            db.delete(*keys[start : start + 500])
        for name in SHARED_SETS:
            if shared[name]:
                db.srem(name, *shared[name])
        for name in SHARED_SORTED_SETS:
            if shared[name]:
                db.zrem(name, *shared[name])
        if shared[UNACKED]:
            db.hdel(UNACKED, *shared[UNACKED])
            db.zrem(UNACKED_INDEX, *shared[UNACKED])
        return len(keys) + sum(len(entries) for entries in shared.values())
    finally:
        db.close()
