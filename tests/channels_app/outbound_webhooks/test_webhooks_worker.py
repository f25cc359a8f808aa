"""Outbound webhooks end to end: a real Celery worker posts to a receiver on
loopback, retries after an error with the same delivery id, refuses a target it
may not reach, and sends again when asked."""

import time
from collections import Counter

import pytest
from rest_framework.test import APIClient

from channels_app.ingest import submit_message
from channels_app.outbound_webhooks.actions import do_create_endpoint
from channels_app.outbound_webhooks.outbox import forget_subscriptions
from supportdesk.api.tokens import do_issue_api_token
from supportdesk.events import WEBHOOK_EVENTS as EVENTS
from supportdesk.models import WebhookDelivery
from tests.channels_app.outbound_webhooks.webhook_support import (
    events_of,
    signature_is_valid,
)
from tests.factories import AgentFactory
from tests.helpers import message
from tests.provider_server import Reply
from tickets.actions.merges import do_merge_customers
from tickets.actions.tickets import do_assign_ticket, do_reply, do_resolve_ticket
from tickets.models import Ticket

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(condition, *, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def settled(*, count: int) -> list[WebhookDelivery]:
    """Wait until `count` deliveries exist and none is pending."""

    def done():
        deliveries = list(WebhookDelivery.objects.order_by("id"))
        if len(deliveries) == count and all(
            d.status != WebhookDelivery.Status.PENDING for d in deliveries
        ):
            return deliveries
        return None

    return wait_for(done, what=f"{count} deliveries to settle")


@pytest.fixture(autouse=True)
def _fresh_subscriptions():
    forget_subscriptions()
    yield
    forget_subscriptions()


@pytest.fixture
def start_worker(request, monkeypatch, settings):
    """start_worker(**env): a desk worker whose settings come from this env;
    this process allows loopback targets, so endpoints on it can be registered."""
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = ["127.0.0.0/8"]

    def start(**env):
        env = {
            "WEBHOOK_ALLOWED_TARGET_NETWORKS": "127.0.0.0/8",
            "WEBHOOK_RETRY_SECONDS": "1",
            **env,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return request.getfixturevalue("desk_worker")

    return start


@pytest.fixture
def receiver(provider_server):
    provider_server.route("POST", "/hooks", Reply(status=200, body={"ok": True}))
    return provider_server


def receive(msg) -> Ticket:
    """Submit a message and wait until the worker has routed its ticket."""
    submit_message(msg)
    return wait_for(
        lambda: Ticket.objects.filter(
            events__sender_identity__value=msg.identities[0].value,
            routed_at__isnull=False,
        ).first(),
        what="the worker to ingest and route the message",
    )


def test_a_worker_posts_each_event_once_signed(start_worker, receiver, teams):
    start_worker()
    endpoint = do_create_endpoint(url=f"{receiver.url}/hooks", events=list(EVENTS))
    tom = AgentFactory(username="tom", teams=[teams["tech"]])

    ticket = receive(message("email", ("email", "ana@example.com"), text="Help"))
    other = receive(message("email", ("email", "bo@example.com"), text="Hi"))
    do_assign_ticket(ticket=ticket, assignee=tom)
    do_reply(ticket=ticket, author=tom, text="On it.")
    do_resolve_ticket(ticket=ticket, actor=tom, resolution_note="Password reset.")
    do_merge_customers(source=other.customer, target=ticket.customer)

    deliveries = settled(count=11)
    time.sleep(1.5)  # a duplicate would arrive meanwhile
    requests = list(receiver.requests)
    assert Counter(events_of(requests)) == {
        "ticket.created": 2,
        "message.created": 3,
        "ticket.routed": 2,
        "ticket.assigned": 1,
        "ticket.resolved": 1,
        "ticket.updated": 1,
        "customer.merged": 1,
    }
    assert all(signature_is_valid(r, endpoint.secret) for r in requests)
    sent_ids = sorted(r.headers["x-desk-delivery"] for r in requests)
    assert sent_ids == sorted(str(d.delivery_id) for d in deliveries)
    assert {(d.status, d.attempts) for d in deliveries} == {("succeeded", 1)}


def test_after_a_500_the_same_delivery_arrives_again_and_succeeds(
    start_worker, receiver, teams
):
    start_worker()
    answers = iter([Reply(status=500, body={"error": "busy"})])
    receiver.route("POST", "/hooks", lambda request: next(answers, Reply(status=200)))
    endpoint = do_create_endpoint(url=f"{receiver.url}/hooks", events=["ticket.routed"])

    receive(message("email", ("email", "ana@example.com")))

    [delivery] = settled(count=1)
    first, second = receiver.requests
    assert first.headers["x-desk-delivery"] == second.headers["x-desk-delivery"]
    assert first.headers["x-desk-delivery"] == str(delivery.delivery_id)
    assert first.body == second.body
    assert signature_is_valid(first, endpoint.secret)
    assert signature_is_valid(second, endpoint.secret)
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert (delivery.last_status_code, delivery.last_error) == (200, "")


def test_the_log_shows_a_failed_delivery_and_a_resend_sends_it_again(
    start_worker, receiver, teams, supervisor
):
    start_worker(WEBHOOK_MAX_ATTEMPTS="2")
    receiver.route("POST", "/hooks", Reply(status=500, body=b"maintenance"))
    do_create_endpoint(url=f"{receiver.url}/hooks", events=["ticket.routed"])
    _, key = do_issue_api_token(user=supervisor, name="ops", scopes=["admin"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    receive(message("email", ("email", "ana@example.com")))
    [delivery] = settled(count=1)
    [entry] = api.get("/api/v1/webhook-deliveries/").json()["results"]

    assert (entry["status"], entry["attempts"]) == ("failed", 2)
    assert entry["last_status_code"] == 500
    assert entry["last_error"] == "gave up after 2 attempts: HTTP 500: maintenance"

    receiver.route("POST", "/hooks", Reply(status=200))
    answer = api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend/")
    assert answer.status_code == 202
    wait_for(
        lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status="succeeded"),
        what="the resent delivery to succeed",
    )
    ids = {r.headers["x-desk-delivery"] for r in receiver.requests}
    assert ids == {str(delivery.delivery_id)}
    assert len(receiver.requests) == 3


def test_a_worker_refuses_a_target_its_settings_do_not_allow(
    start_worker, receiver, teams
):
    """Registered while loopback was allowed; the worker does not allow it now."""
    start_worker(WEBHOOK_ALLOWED_TARGET_NETWORKS="")
    do_create_endpoint(url=f"{receiver.url}/hooks", events=["ticket.routed"])

    receive(message("email", ("email", "ana@example.com")))

    [delivery] = settled(count=1)
    time.sleep(1.5)  # longer than WEBHOOK_RETRY_SECONDS: no retry follows
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error.startswith("refused: 127.0.0.1, a loopback address")
