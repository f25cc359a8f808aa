"""Outbound webhooks over the REST API: endpoints registered, changed and
deleted by supervisors holding the admin scope, a secret shown once, and the
delivery log with its resend."""

import json

import pytest
from django.test import TestCase
from rest_framework.test import APIClient

from supportdesk.api.tokens import do_issue_api_token
from supportdesk.models import WebhookEndpoint
from tests.channels_app.outbound_webhooks.webhook_support import (  # noqa: F401  (fixtures, used by name)
    assign_once,
    assigned_only_fixture,
    endpoint_fixture,
    fresh_subscriptions_fixture,
    loopback_allowed_fixture,
    receiver_fixture,
    signature_is_valid,
)
from tests.helpers import deliver, message
from tests.provider_server import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(supervisor):
    _, key = do_issue_api_token(user=supervisor, name="hooks", scopes=["admin"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_an_endpoint_registered_over_the_api_shows_its_secret_once(
    admin_api, receiver, teams
):
    answer = admin_api.post(
        "/api/v1/webhook-endpoints/",
        {"url": f"{receiver.url}/hooks", "events": ["ticket.routed"]},
        format="json",
    )

    assert answer.status_code == 201, answer.json()
    created = answer.json()
    secret = created["secret"]
    assert len(secret) > 30
    shown = admin_api.get(f"/api/v1/webhook-endpoints/{created['id']}/").json()
    listed = admin_api.get("/api/v1/webhook-endpoints/").json()["results"]
    assert "secret" not in shown and "secret" not in listed[0]
    assert secret not in json.dumps([shown, listed])

    deliver(message("email"))
    [request] = receiver.requests
    assert signature_is_valid(request, secret)


def test_the_api_refuses_private_targets_unknown_events_and_unknown_fields(
    admin_api, settings
):
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = []
    url = "/api/v1/webhook-endpoints/"

    private = admin_api.post(
        url, {"url": "http://127.0.0.1:9/", "events": ["ticket.created"]}, format="json"
    )
    unknown_event = admin_api.post(
        url,
        {"url": "https://93.184.216.34/", "events": ["ticket.eaten"]},
        format="json",
    )
    extra_field = admin_api.post(
        url,
        {"url": "https://93.184.216.34/", "events": ["ticket.created"], "id": 7},
        format="json",
    )

    assert private.status_code == 400
    error = private.json()["error"]
    assert error["code"] == "invalid"
    assert "127.0.0.1, a loopback address" in error["fields"]["url"][0]
    assert unknown_event.status_code == 400
    assert "events" in unknown_event.json()["error"]["fields"]
    assert extra_field.status_code == 400
    assert extra_field.json()["error"]["fields"] == {"id": ["Unknown field."]}
    assert WebhookEndpoint.objects.count() == 0


def test_webhooks_are_for_supervisors_holding_the_admin_scope(
    supervisor, billing_agent, endpoint
):
    def client(user, scope):
        _, key = do_issue_api_token(user=user, name="t", scopes=[scope])
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return api

    for api in (client(supervisor, "write"), client(billing_agent, "admin")):
        assert api.get("/api/v1/webhook-endpoints/").status_code == 403
        assert api.get("/api/v1/webhook-deliveries/").status_code == 403
        assert (
            api.delete(f"/api/v1/webhook-endpoints/{endpoint.pk}/").status_code == 403
        )
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_an_endpoint_is_changed_and_deleted_over_the_api(admin_api, endpoint):
    path = f"/api/v1/webhook-endpoints/{endpoint.pk}/"

    changed = admin_api.patch(
        path,
        {"events": ["ticket.resolved"], "secret": "a-new-secret-of-24-chars"},
        format="json",
    )

    assert changed.status_code == 200
    assert changed.json()["events"] == ["ticket.resolved"]
    assert "secret" not in changed.json()
    endpoint.refresh_from_db()
    assert endpoint.secret == "a-new-secret-of-24-chars"
    assert admin_api.delete(path).status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_shows_attempts_and_errors_and_resends(
    admin_api, assigned_only, receiver, teams
):
    receiver.route("POST", "/hooks", Reply(status=500, body=b"try later"))
    delivery = assign_once(teams)

    log = admin_api.get("/api/v1/webhook-deliveries/", {"status": "pending"})
    detail = admin_api.get(f"/api/v1/webhook-deliveries/{delivery.pk}/")
    receiver.route("POST", "/hooks", Reply(status=200))
    with TestCase.captureOnCommitCallbacks(execute=True):
        resent = admin_api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend/")

    [entry] = log.json()["results"]
    assert entry["delivery_id"] == str(delivery.delivery_id)
    assert (entry["event"], entry["attempts"]) == ("ticket.assigned", 1)
    assert entry["last_status_code"] == 500
    assert entry["last_error"] == "attempt 1: HTTP 500: try later"
    assert "payload" not in entry
    assert detail.json()["payload"]["id"] == str(delivery.delivery_id)
    assert resent.status_code == 202
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    ids = {r.headers["x-desk-delivery"] for r in receiver.requests}
    assert ids == {str(delivery.delivery_id)} and len(receiver.requests) == 2
    bad_filter = admin_api.get("/api/v1/webhook-deliveries/", {"status": "lost"})
    assert bad_filter.status_code == 400
