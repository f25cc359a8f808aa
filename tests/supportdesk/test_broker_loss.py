"""A worker outlives its Redis broker (supportdesk/broker_loss.py)."""

import time

import pytest

from supportdesk.celery import app
from tests.helpers import deliver_without_routing, message
from tests.redis_server import private_redis
from tests.worker import running_worker
from tickets.models import Ticket
from tickets.tasks import route_ticket

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RESTARTS = 3
TICKETS_PER_ROUND = 10
TASKS_PER_TICKET = 30


def unrouted_tickets(count: int, round_: int) -> list[Ticket]:
    return [
        deliver_without_routing(
            message("email", ("email", f"round{round_}-{number}@example.com"))
        )
        for number in range(count)
    ]


def send_route_tasks(tickets: list[Ticket], redis_url: str, *, times: int = 1) -> None:
    """Queue the route task of each ticket `times` times (a repeat changes nothing)."""
    with app.connection_for_write(redis_url) as connection:
        for _ in range(times):
            for ticket in tickets:
                route_ticket.apply_async((ticket.pk,), connection=connection)


def wait_for(condition, *, what: str, worker, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.alive(), f"the worker died:\n{worker.output()}"
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}:\n{worker.output()}")


def test_the_worker_outlives_redis_killed_and_restarted_while_tasks_flow(
    teams, tmp_path
):
    with (
        private_redis(tmp_path) as redis_server,
        running_worker(tmp_path, redis_url=redis_server.url, prefork=True) as worker,
    ):
        for round_ in range(RESTARTS):
            tickets = unrouted_tickets(TICKETS_PER_ROUND, round_)
            # Enough tasks that some are taken and unacknowledged at the kill.
            send_route_tasks(tickets, redis_server.url, times=TASKS_PER_TICKET)
            wait_for(
                lambda tickets=tickets: Ticket.objects.filter(
                    pk__in=[ticket.pk for ticket in tickets], routed_at__isnull=False
                ).exists(),
                what="the first task of the round to run",
                worker=worker,
            )
            redis_server.kill()
            time.sleep(0.3)
            redis_server.start()
            # What the dead Redis held is gone; the beat sweep routes it later.
            wait_for(
                lambda round_=round_: (
                    worker.output().count("Connected to") >= round_ + 2
                ),
                what=f"the worker to reconnect after restart {round_ + 1}",
                worker=worker,
            )

        after = unrouted_tickets(TICKETS_PER_ROUND, RESTARTS)
        send_route_tasks(after, redis_server.url)
        wait_for(
            lambda: (
                Ticket.objects.filter(
                    pk__in=[ticket.pk for ticket in after], team=teams["tech"]
                ).count()
                == len(after)
            ),
            what="the tasks sent after the last restart to run",
            worker=worker,
        )
        assert worker.alive()
        assert "Unrecoverable error" not in worker.output()
