"""Outbound webhooks: events recorded with the change that causes them, signed
posts to a receiver on loopback, retries and refused targets.

Tasks run inline here, and on a real Celery worker in test_webhooks_worker.py;
the REST endpoints and the admin have test_webhooks_api.py and _admin.py.
"""

import socket
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from channels_app.outbound_webhooks.actions import do_create_endpoint
from channels_app.outbound_webhooks.outbox import forget_subscriptions, record
from channels_app.outbound_webhooks.targets import TargetRefused, check_target_url
from channels_app.outbound_webhooks.tasks import (
    deliver_webhook,
    sweep_webhook_deliveries,
)
from supportdesk.models import WebhookDelivery, WebhookEndpoint
from tests.channels_app.outbound_webhooks.webhook_support import (  # noqa: F401  (fixtures, used by name)
    ALL_EVENTS,
    assign_once,
    assigned_only_fixture,
    endpoint_fixture,
    events_of,
    fresh_subscriptions_fixture,
    loopback_allowed_fixture,
    make_due,
    open_ticket,
    receiver_fixture,
    signature_is_valid,
)
from tests.factories import AgentFactory
from tests.helpers import deliver, message
from tests.provider_server import Reply
from tickets.actions.calls import do_log_call
from tickets.actions.merges import do_merge_customers
from tickets.actions.tickets import (
    TicketActionError,
    do_add_note,
    do_assign_ticket,
    do_reply,
    do_resolve_ticket,
)
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------- recording


def test_a_new_ticket_reaches_the_receiver_signed_as_each_of_its_events(
    endpoint, receiver, teams
):
    """A message that opens a ticket is ticket.created and message.created, and
    its routing ticket.routed: each once, signed with the endpoint's secret."""
    before = int(time.time())
    deliver(message("email", sender_name="Ana Silva", text="My card was charged."))

    requests = receiver.requests
    assert sorted(events_of(requests)) == [
        "message.created",
        "ticket.created",
        "ticket.routed",
    ]
    for request in requests:
        assert signature_is_valid(request, endpoint.secret)
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].startswith("SupportDesk-Webhooks/")
        assert before <= int(request.headers["x-desk-timestamp"]) <= time.time() + 1
        body = request.json()
        assert body["id"] == request.headers["x-desk-delivery"]
        assert body["event"] == request.headers["x-desk-event"]
    assert len({r.headers["x-desk-delivery"] for r in requests}) == 3
    by_event = {r.headers["x-desk-event"]: r.json()["data"] for r in requests}
    ticket = Ticket.objects.get()
    created = by_event["ticket.created"]
    assert created["ticket"]["id"] == ticket.pk
    assert created["ticket"]["customer"]["display_name"] == "Ana Silva"
    assert created["message"]["text"] == "My card was charged."
    assert created["message"]["direction"] == "in"
    assert by_event["message.created"]["message"] == created["message"]
    route = by_event["ticket.routed"]["route"]
    assert route["to_team"]["slug"] == "tech"
    assert by_event["ticket.routed"]["ticket"]["team"]["slug"] == "tech"
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 3


def test_each_action_is_posted_once_as_its_event(endpoint, receiver, teams):
    """Assigning, replying (sent, then reported sent), resolving and merging:
    each event arrives once, whatever else the desk publishes meanwhile."""
    tech_agent = AgentFactory(username="tom", teams=[teams["tech"]])
    ticket = open_ticket(teams, text="Is anyone there?")
    deliver(message("email", ("email", "bo@example.com"), text="Hello"))
    receiver.requests.clear()

    with TestCase.captureOnCommitCallbacks(execute=True):
        do_assign_ticket(ticket=ticket, assignee=tech_agent)
    with TestCase.captureOnCommitCallbacks(execute=True):
        reply = do_reply(ticket=ticket, author=tech_agent, text="Yes, hello!")
    with TestCase.captureOnCommitCallbacks(execute=True):
        do_resolve_ticket(ticket=ticket, actor=tech_agent, resolution_note="Helped.")
    bo_ticket = Ticket.objects.exclude(pk=ticket.pk).get()
    bo = bo_ticket.customer
    with TestCase.captureOnCommitCallbacks(execute=True):
        merge = do_merge_customers(source=bo, target=ticket.customer, reason="Same")

    reply.refresh_from_db()
    assert reply.delivery_status == "sent"  # published again as it changed
    assert Counter(events_of(receiver.requests)) == {
        "ticket.assigned": 1,
        "message.created": 1,
        "ticket.resolved": 1,
        "ticket.updated": 1,
        "customer.merged": 1,
    }
    data = {r.headers["x-desk-event"]: r.json()["data"] for r in receiver.requests}
    assert data["ticket.assigned"]["ticket"]["assignee"]["username"] == "tom"
    assert data["message.created"]["message"]["direction"] == "out"
    assert data["message.created"]["message"]["author"]["username"] == "tom"
    assert data["ticket.resolved"]["ticket"]["resolution_note"] == "Helped."
    assert data["ticket.updated"]["changes"] == {"status": "resolved"}
    assert data["customer.merged"]["merge"] == {
        "id": merge.pk,
        "source_customer_id": bo.pk,
        "target_customer_id": ticket.customer_id,
        "reason": "Same",
        "actor": None,
        "moved_ticket_ids": [bo_ticket.pk],
        "moved_identities": 1,
        "moved_events": len(merge.moved_event_ids),
    }


def test_a_ticket_opened_by_a_logged_call_is_ticket_created_without_a_message(
    endpoint, receiver, teams
):
    tom = AgentFactory(username="tom", teams=[teams["tech"]])
    with TestCase.captureOnCommitCallbacks(execute=True):
        do_log_call(
            author=tom,
            direction="inbound",
            number="+14155552671",
            duration_seconds=60,
            outcome="answered",
        )

    assert sorted(events_of(receiver.requests)) == ["ticket.created", "ticket.routed"]
    created = next(
        r.json() for r in receiver.requests if r.json()["event"] == "ticket.created"
    )
    assert created["data"]["message"] is None
    assert created["data"]["ticket"]["channel"] == "phone"


def test_internal_notes_never_leave_the_desk(endpoint, receiver, teams):
    """Webhooks are for integrations: a note is no event of theirs, and no
    payload carries its text, while the reply after it is posted."""
    tom = AgentFactory(username="tom", teams=[teams["tech"]])
    ticket = open_ticket(teams, text="Is anyone there?")
    receiver.requests.clear()

    with TestCase.captureOnCommitCallbacks(execute=True):
        do_add_note(ticket=ticket, author=tom, text="Tech only: serial RX-4471")
    with TestCase.captureOnCommitCallbacks(execute=True):
        do_reply(ticket=ticket, author=tom, text="Yes, hello!")

    assert events_of(receiver.requests) == ["message.created"]
    assert all("RX-4471" not in r.body.decode() for r in receiver.requests)
    assert not WebhookDelivery.objects.filter(payload__icontains="RX-4471").exists()


def test_a_call_for_another_teams_customer_is_routed_to_the_callers_team(
    endpoint, receiver, teams
):
    """ticket.routed tells of a ticket a call gave to its agent's team: no rule,
    the agent as the actor."""
    tom = AgentFactory(username="tom", teams=[teams["tech"]])
    bea = AgentFactory(username="bea", teams=[teams["billing"]])
    for author in (tom, bea):
        with TestCase.captureOnCommitCallbacks(execute=True):
            do_log_call(
                author=author,
                direction="inbound",
                number="+14155552671",
                duration_seconds=60,
                outcome="answered",
            )

    routed = [
        r.json()["data"]
        for r in receiver.requests
        if r.json()["event"] == "ticket.routed"
    ]
    assert [d["route"]["to_team"]["slug"] for d in routed] == ["tech", "billing"]
    by_call = routed[1]["route"]
    assert (by_call["rule_id"], by_call["actor"]["username"]) == (None, "bea")
    assert routed[1]["ticket"]["id"] != routed[0]["ticket"]["id"]


def test_an_endpoint_receives_only_the_events_it_subscribes_to(receiver, teams):
    do_create_endpoint(url=f"{receiver.url}/hooks", events=["ticket.routed"])

    deliver(message("email"))

    assert events_of(receiver.requests) == ["ticket.routed"]
    assert WebhookDelivery.objects.get().event == "ticket.routed"


def test_without_a_subscribed_endpoint_nothing_is_recorded(
    receiver, teams, django_assert_num_queries
):
    """No endpoint, a disabled one, or one subscribed to other events: no rows,
    and a realtime event costs no query once the process knows it."""
    endpoint = do_create_endpoint(
        url=f"{receiver.url}/hooks", events=["customer.merged"]
    )
    WebhookEndpoint.objects.create(url=endpoint.url, events=ALL_EVENTS, enabled=False)
    forget_subscriptions()

    deliver(message("email"))
    ticket = Ticket.objects.get()

    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == []
    with django_assert_num_queries(0):
        record({"type": "ticket.updated", "ticket_id": ticket.pk, "status": "open"})
        record({"type": "message.created", "event_id": 1, "new_ticket": True})


def test_a_reply_published_again_as_its_state_moves_costs_two_reads(
    endpoint, receiver, teams, django_assert_num_queries
):
    """A message.created published again for a reply's delivery state records
    nothing, and reads only the endpoints and the message: no ticket or
    attachments for a payload that is not sent."""
    tech_agent = AgentFactory(username="tom", teams=[teams["tech"]])
    ticket = open_ticket(teams)
    with TestCase.captureOnCommitCallbacks(execute=True):
        reply = do_reply(ticket=ticket, author=tech_agent, text="On it")
    reply.refresh_from_db()
    assert reply.delivery_status == "sent"
    before = WebhookDelivery.objects.count()
    subscribed = {"type": "message.created", "event_id": reply.pk}
    record(subscribed)  # the process learns the subscriptions first

    with django_assert_num_queries(2):
        assert record(subscribed) == []
    assert WebhookDelivery.objects.count() == before


def test_deliveries_commit_with_the_change_or_not_at_all(endpoint, receiver, teams):
    tech_agent = AgentFactory(username="tom", teams=[teams["tech"]])
    ticket = open_ticket(teams)
    receiver.requests.clear()
    WebhookDelivery.objects.all().delete()

    with (
        pytest.raises(RuntimeError),
        TestCase.captureOnCommitCallbacks(execute=True),
        transaction.atomic(),
    ):
        do_assign_ticket(ticket=ticket, assignee=tech_agent)
        raise RuntimeError("the caller's work failed after the action")
    with pytest.raises(TicketActionError):
        do_resolve_ticket(ticket=ticket, actor=tech_agent, resolution_note="")

    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == []


# -------------------------------------------------------------------- attempts


def test_a_failed_attempt_is_logged_and_retried_with_the_same_delivery_id(
    assigned_only, receiver, teams, settings
):
    settings.WEBHOOK_RETRY_SECONDS = 30
    receiver.route("POST", "/hooks", Reply(status=500, body=b"database is down"))

    delivery = assign_once(teams)

    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_status_code == 500
    assert delivery.last_error == "attempt 1: HTTP 500: database is down"
    wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
    assert wait == pytest.approx(30)
    # The retry queued at once finds it not due yet: one request so far.
    assert len(receiver.requests) == 1

    receiver.route("POST", "/hooks", Reply(status=200, body={"ok": True}))
    make_due(delivery)
    deliver_webhook.delay(delivery.pk)
    deliver_webhook.delay(delivery.pk)  # a duplicate task sends nothing

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert (delivery.last_status_code, delivery.last_error) == (200, "")
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    ids = [r.headers["x-desk-delivery"] for r in receiver.requests]
    assert ids == [str(delivery.delivery_id)] * 2
    assert receiver.requests[0].body == receiver.requests[1].body


def test_after_the_last_attempt_the_delivery_fails(
    assigned_only, receiver, teams, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.route("POST", "/hooks", Reply(status=503, body=b""))

    delivery = assign_once(teams)
    make_due(delivery)
    deliver_webhook.delay(delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert delivery.last_error == "gave up after 2 attempts: HTTP 503"
    assert delivery.next_attempt_at is None
    make_due(delivery)
    deliver_webhook.delay(delivery.pk)
    assert len(receiver.requests) == 2


def test_a_redirect_is_not_followed(assigned_only, receiver, teams):
    # The stand-in sends no headers but its own two: Location rides on the
    # Content-Type line.
    receiver.route(
        "POST",
        "/hooks",
        Reply(status=302, body=b"", content_type="text/plain\r\nLocation: /else"),
    )
    receiver.route("POST", "/else", Reply(status=200))

    delivery = assign_once(teams)

    assert [r.path for r in receiver.requests] == ["/hooks"]
    assert delivery.status == "pending"
    assert delivery.last_error == "attempt 1: HTTP 302 (redirects are not followed)"


def test_an_unreachable_receiver_is_logged_and_retried(loopback_allowed, teams):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    do_create_endpoint(url=f"http://127.0.0.1:{port}/", events=["ticket.assigned"])

    delivery = assign_once(teams)

    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_status_code is None
    assert delivery.last_error == "attempt 1: could not connect: Connection refused"


def test_the_sweep_queues_a_delivery_whose_task_was_lost(
    assigned_only, receiver, teams
):
    tech_agent = AgentFactory(username="tom", teams=[teams["tech"]])
    ticket = open_ticket(teams)
    with TestCase.captureOnCommitCallbacks(execute=False):  # the task is lost
        do_assign_ticket(ticket=ticket, assignee=tech_agent)
    delivery = WebhookDelivery.objects.get()

    assert sweep_webhook_deliveries() == 0  # not overdue yet
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    assert sweep_webhook_deliveries() == 1

    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert events_of(receiver.requests) == ["ticket.assigned"]


# ------------------------------------------------------------- refused targets


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://localhost:8000/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://100.64.0.1/",
        "http://240.0.0.1/",
        "ftp://93.184.216.34/",
        "file:///etc/passwd",
        "http://user:password@93.184.216.34/",
    ],
)
def test_urls_that_reach_inside_the_network_are_refused(url, settings):
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = []
    with pytest.raises(TargetRefused):
        check_target_url(url)


def test_a_public_address_is_allowed(settings):
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = []
    assert check_target_url("https://93.184.216.34/hooks") == ["93.184.216.34"]


def test_every_address_a_host_resolves_to_is_checked(settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = []
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 443))
        for a in (
            "93.184.216.34",
            "10.0.0.7",
        )
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)

    with pytest.raises(TargetRefused) as refused:
        check_target_url("https://hooks.example.com/")

    assert str(refused.value).startswith(
        "hooks.example.com resolves to 10.0.0.7, a private address"
    )


def test_allowed_networks_open_only_themselves(settings):
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = ["127.0.0.0/8"]
    assert check_target_url("http://127.0.0.1:9000/") == ["127.0.0.1"]
    with pytest.raises(TargetRefused):
        check_target_url("http://10.0.0.1/")


def test_a_target_refused_at_delivery_fails_without_a_request(
    assigned_only, receiver, teams, settings
):
    """Allowed when it was registered, refused now: failed, never retried."""
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = []

    delivery = assign_once(teams)

    assert receiver.requests == []
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error.startswith(
        "refused: 127.0.0.1, a loopback address: webhooks are not sent to"
    )


def test_a_connection_that_lands_on_a_refused_address_is_dropped(
    assigned_only, receiver, teams, settings, monkeypatch
):
    """A DNS answer that changes between the check and the connection (DNS
    rebinding) is caught on the connection itself."""
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = []
    monkeypatch.setattr(
        "channels_app.outbound_webhooks.delivery.check_target_url",
        lambda url: ["93.184.216.34"],
    )

    delivery = assign_once(teams)

    assert receiver.requests == []
    assert delivery.status == "failed"
    assert delivery.last_error.startswith(
        "refused: the connection reached 127.0.0.1, a loopback address"
    )
