"""The worker's Celery consumer and pool, which survive losing the Redis broker.

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

The pool (`CELERY_WORKER_POOL`) works around a second fault of Celery 5.6 and 5.7.
The main process reads each result from a pool process's pipe a piece at a time,
as the pipe fills, with a generator that the event loop keeps as the pipe's reader.
When the broker connection is lost, the event loop is reset (`hub.reset()` in
`celery.worker.loops.asynloop`), which forgets every reader, and on reconnecting the
pool registers a fresh reader for each pipe. A result that was half read then has
its remaining bytes read as the start of a new one: a failed task's result (its
traceback) is tens of kilobytes, so this happens under load. Either the pipe is
dropped (that process's tasks never finish, and the worker stops taking tasks) or
the bytes fail to unpickle (`UnpicklingError: invalid load key`, and the worker
exits with "Unrecoverable error"). This pool hands each half-read result back to
the event loop after reconnecting. Drop it once `asynloop` no longer resets the
event loop on a connection error, or the pool keeps its readers across that reset;
the test above is too short to show it, Redis killed ten times while tasks, some
failing, flow without pause does.
"""

from functools import partial

from celery.concurrency import asynpool, prefork
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


class ResultHandler(asynpool.ResultHandler):
    """Remembers the result it is reading from each pool process's pipe."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Pipe fd -> (the process it belonged to, the reading generator).
        self.reading = {}

    def _recv_message(self, add_reader, fd, callback, *args, **kwargs):
        message = super()._recv_message(add_reader, fd, callback, *args, **kwargs)
        self.reading[fd] = (self.fileno_to_outq.get(fd), message)
        return message


class AsynPool(asynpool.AsynPool):
    ResultHandler = ResultHandler

    def register_with_event_loop(self, hub):
        super().register_with_event_loop(hub)
        for fd, (process, message) in list(self._result_handler.reading.items()):
            # A finished generator has no frame; a process that exited may have
            # left its fd to a new one, whose pipe starts afresh.
            if message.gi_frame is None or self._fileno_to_outq.get(fd) is not process:
                del self._result_handler.reading[fd]
                continue
            hub.add_reader(fd, message)


class TaskPool(prefork.TaskPool):
    """Celery's prefork pool, reading a half-read result on after a reconnect."""

    Pool = AsynPool
