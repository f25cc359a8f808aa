"""Side effects that leave only after the surrounding transaction commits."""

import logging
from collections.abc import Iterable
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from supportdesk.events import LAYER_MESSAGE_TYPE

logger = logging.getLogger(__name__)


def publish_now(event: dict, groups: Iterable[str]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": LAYER_MESSAGE_TYPE, "event": event}
    send = async_to_sync(layer.group_send)
    for group in dict.fromkeys(groups):
        try:
            send(group, message)
        except Exception:  # a realtime hiccup must never undo committed work
            logger.exception("publishing %s to %s failed", event.get("type"), group)


def publish_on_commit(event: dict, groups: Iterable[str]) -> None:
    transaction.on_commit(partial(publish_now, event, list(groups)))


def enqueue_on_commit(task, *ids: int) -> None:
    """Queue a Celery task with id arguments once the data it reads is committed."""
    transaction.on_commit(partial(task.delay, *ids))
