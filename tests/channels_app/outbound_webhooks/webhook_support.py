"""Shared by the outbound webhook tests: a receiver on loopback, endpoints that
post to it, how a receiver checks a signature, a ticket.assigned delivery
attempted once, and a delivery made due.

A test module imports the fixtures it uses from here: each is registered under
the name tests ask for, and imported as `<name>_fixture` so a test's argument
does not shadow the import. The subscription cache is emptied around every test
of a module that imports `fresh_subscriptions_fixture`."""

import hashlib
import hmac
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from channels_app.outbound_webhooks.actions import do_create_endpoint
from channels_app.outbound_webhooks.outbox import forget_subscriptions
from supportdesk.events import WEBHOOK_EVENTS as EVENTS
from supportdesk.models import WebhookDelivery, WebhookEndpoint
from tests.factories import AgentFactory
from tests.helpers import deliver, message
from tests.provider_server import Reply
from tickets.actions.tickets import do_assign_ticket
from tickets.models import Ticket

ALL_EVENTS = list(EVENTS)


def signature_is_valid(request, secret: str) -> bool:
    """What a receiver does: HMAC-SHA256 over "<timestamp>." and the raw body."""
    timestamp = request.headers["x-desk-timestamp"]
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(f"v1={expected}", request.headers["x-desk-signature"])


def events_of(requests) -> list[str]:
    return [r.headers["x-desk-event"] for r in requests]


def open_ticket(teams, **fields) -> Ticket:
    deliver(message("email", **fields))
    return Ticket.objects.get()


def assign_once(teams) -> WebhookDelivery:
    """One ticket.assigned delivery, attempted once."""
    tech_agent = AgentFactory(username="tom", teams=[teams["tech"]])
    ticket = open_ticket(teams)
    WebhookDelivery.objects.all().delete()
    with TestCase.captureOnCommitCallbacks(execute=True):
        do_assign_ticket(ticket=ticket, assignee=tech_agent)
    return WebhookDelivery.objects.get()


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


# ------------------------------------------------------------------ fixtures


@pytest.fixture(autouse=True, name="_fresh_subscriptions")
def fresh_subscriptions_fixture():
    forget_subscriptions()
    yield
    forget_subscriptions()


@pytest.fixture(name="loopback_allowed")
def loopback_allowed_fixture(settings):
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture(name="receiver")
def receiver_fixture(provider_server, loopback_allowed):
    provider_server.route("POST", "/hooks", Reply(status=204, body=b""))
    return provider_server


@pytest.fixture(name="endpoint")
def endpoint_fixture(receiver) -> WebhookEndpoint:
    return do_create_endpoint(url=f"{receiver.url}/hooks", events=ALL_EVENTS)


@pytest.fixture(name="assigned_only")
def assigned_only_fixture(receiver):
    return do_create_endpoint(url=f"{receiver.url}/hooks", events=["ticket.assigned"])
