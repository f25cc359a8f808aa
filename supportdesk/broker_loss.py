"""The worker's Celery consumer, which survives losing its Redis broker.

When the broker connection is lost, Celery 5.7.0
(`Consumer.on_connection_error_after_connected`) first collects the connection,
which closes its channels and detaches its transport (`transport.client = None`),
and then closes it again; Celery 5.6 only collected it. If Redis went away while
the task channel waited in BRPOP, the first close of that channel stopped half-way,
so the second one runs it again: it drops the channel's Redis pool and builds a new
one from `transport.client`, which raises `AttributeError: 'NoneType' object has no
attribute 'hostname'`, at once (restoring unacked messages) or when a task that was
running finishes and acknowledges its message. That is not a connection error, so
nothing catches it and the worker exits ("Unrecoverable error").

This consumer closes a lost connection only when collect() has not already done so.
Settings name it as `CELERY_WORKER_CONSUMER`; drop it once Celery closes a collected
connection safely (tests/supportdesk/test_broker_loss.py shows whether it does).
"""

from functools import partial

from celery.worker.consumer import Consumer as CeleryConsumer
from kombu import Connection


class Consumer(CeleryConsumer):
    def on_connection_error_after_connected(self, exc):
        if self.connection is not None:
            self.connection.close = partial(close_lost_connection, self.connection)
        super().on_connection_error_after_connected(exc)


def close_lost_connection(connection: Connection) -> None:
    """Close a connection whose broker went away, unless collect() closed it."""
    if connection._transport is None:
        # Detached by collect(): its channels were closed as far as they could be.
        return
    Connection.close(connection)
