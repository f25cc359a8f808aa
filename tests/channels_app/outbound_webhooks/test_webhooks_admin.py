"""Outbound webhooks in the admin: an endpoint added with its secret shown once,
private targets refused, and a delivery resent from the log."""

import pytest
from django.test import TestCase

from supportdesk.models import WebhookEndpoint
from tests.channels_app.outbound_webhooks.webhook_support import (  # noqa: F401  (fixtures, used by name)
    assign_once,
    assigned_only_fixture,
    fresh_subscriptions_fixture,
    loopback_allowed_fixture,
    receiver_fixture,
)

pytestmark = pytest.mark.django_db


def test_an_endpoint_added_in_the_admin_shows_its_secret_once(admin_client, receiver):
    answer = admin_client.post(
        "/admin/supportdesk/webhookendpoint/add/",
        {
            "url": f"{receiver.url}/hooks",
            "description": "CRM",
            "events": ["ticket.created", "customer.merged"],
            "enabled": "on",
            "new_secret": "",
        },
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["ticket.created", "customer.merged"]
    assert endpoint.secret in answer.content.decode()
    page = admin_client.get(f"/admin/supportdesk/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200
    assert endpoint.secret not in page.content.decode()
    assert (
        'type="checkbox" name="events" value="ticket.routed"' in page.content.decode()
    )


def test_the_admin_refuses_a_private_target(admin_client, settings):
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = []

    answer = admin_client.post(
        "/admin/supportdesk/webhookendpoint/add/",
        {"url": "http://10.0.0.5/hooks", "events": ["ticket.created"], "enabled": "on"},
    )

    assert answer.status_code == 200
    assert "10.0.0.5, a private address" in answer.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_delivery_is_resent_from_the_admin_log(
    admin_client, assigned_only, receiver, teams
):
    delivery = assign_once(teams)
    assert delivery.status == "succeeded"

    with TestCase.captureOnCommitCallbacks(execute=True):
        admin_client.post(
            "/admin/supportdesk/webhookdelivery/",
            {"action": "resend", "_selected_action": [delivery.pk]},
        )
    log = admin_client.get("/admin/supportdesk/webhookdelivery/", {"q": "assigned"})
    page = admin_client.get(f"/admin/supportdesk/webhookdelivery/{delivery.pk}/change/")

    ids = [r.headers["x-desk-delivery"] for r in receiver.requests]
    assert ids == [str(delivery.delivery_id)] * 2
    assert log.status_code == 200
    assert "ticket.assigned" in log.content.decode()
    assert str(delivery.delivery_id) in page.content.decode()  # the payload
