"""Side effects that leave only after the surrounding transaction commits."""

import asyncio
import logging
import os
import threading
import uuid
from collections.abc import Iterable
from functools import cache, partial

from asgiref.sync import async_to_sync
from celery import current_app
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from supportdesk.events import LAYER_MESSAGE_TYPE

logger = logging.getLogger(__name__)

# What queueing a task raises when Redis cannot be reached; kombu wraps the
# client's own errors in its OperationalError once its retry policy runs out.
BROKER_ERRORS = (
    KombuOperationalError,
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
)


async def _send_to_groups(layer, message: dict, groups: list[str]) -> None:
    # The groups are independent: their round trips to the layer overlap.
    results = await asyncio.gather(
        *(layer.group_send(group, message) for group in groups), return_exceptions=True
    )
    for group, result in zip(groups, results, strict=True):
        if isinstance(result, Exception):  # a realtime hiccup never undoes work
            logger.error(
                "publishing %s to %s failed",
                message["event"]["type"],
                group,
                exc_info=result,
            )


class _PublisherLoop:
    """One event loop per process, on a thread of its own, that talks to the layer.

    From a thread with no event loop (a Celery worker, a command), async_to_sync
    starts a thread and a loop for every call, and the Redis layer opens a new
    connection for every loop: more than the rest of a task costs. This loop, and
    the connections the layer keeps for it, last as long as the process.
    """

    TIMEOUT_SECONDS = 10

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def forget(self) -> None:
        # A forked child has the loop object but not the thread that ran it.
        self._lock = threading.Lock()
        self._loop = None

    def run(self, coroutine) -> None:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(
                    target=self._loop.run_forever, name="desk-publisher", daemon=True
                ).start()
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            future.result(self.TIMEOUT_SECONDS)
        except TimeoutError:
            future.cancel()
            logger.warning("publishing took over %ss: abandoned", self.TIMEOUT_SECONDS)


_publisher = _PublisherLoop()
os.register_at_fork(after_in_child=_publisher.forget)


def publish_now(event: dict, groups: Iterable[str]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # One id for every group's copy: a consumer in several groups relays it once.
    message = {"type": LAYER_MESSAGE_TYPE, "event": event, "id": uuid.uuid4().hex}
    groups = list(dict.fromkeys(groups))
    if isinstance(layer, InMemoryChannelLayer):
        # Its queues belong to the server's event loop, which async_to_sync uses.
        async_to_sync(_send_to_groups)(layer, message, groups)
    else:
        _publisher.run(_send_to_groups(layer, message, groups))


@cache
def _recorder(path: str):
    return import_string(path)


def publish_on_commit(event: dict, groups: Iterable[str]) -> None:
    # Others keep the same events (outbound webhooks, settings.EVENT_RECORDERS):
    # they write in the action's transaction, so what they keep commits with the
    # change or not at all.
    for path in settings.EVENT_RECORDERS:
        _recorder(path)(event)
    transaction.on_commit(partial(publish_now, event, list(groups)))


def enqueue_on_commit(task, *ids: int) -> None:
    """Queue a Celery task with id arguments once the data it reads is committed.

    The task, or its registered name: a module that the task's own module imports
    names it, so the two need not import each other. Should the broker be out of
    reach, the committed work waits for the beat sweep that covers its task.
    """
    transaction.on_commit(partial(_queue, task, ids))


def _queue(task, ids: tuple[int, ...]) -> None:
    # Resolved here: a task named by string is looked up when the commit comes.
    if isinstance(task, str):
        task = _registered(task)
    try:
        task.delay(*ids)
    except BROKER_ERRORS as exc:
        # The data is committed: raising would only turn the caller's success
        # (a webhook's 200, a stored reply) into an error the sender retries.
        logger.warning(
            "%s%r not queued, the broker is out of reach (%s): a sweep takes it",
            task.name,
            ids,
            exc,
        )


def _registered(name: str):
    # Task modules are discovered when a worker starts; a process that only
    # queues (a management command, the embedded desk) loads them on first use.
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name]


def run_on_commit(task, *ids: int) -> None:
    """Run a Celery task here, once the data it reads is committed.

    For work that follows at once in the same process: no trip through the broker
    and another worker. Should the run fail, the task is queued to try again.
    """
    transaction.on_commit(partial(_run_or_enqueue, task, ids))


def _run_or_enqueue(task, ids: tuple[int, ...]) -> None:
    try:
        task(*ids)
    except Exception:
        logger.warning(
            "%s%r failed here: queued instead", task.name, ids, exc_info=True
        )
        _queue(task, ids)
