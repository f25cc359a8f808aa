"""Tickets built the way production builds them, and API clients holding a
token of a given scope."""

import pytest
from rest_framework.test import APIClient

from supportdesk.api.tokens import do_issue_api_token
from supportdesk.models import ApiToken
from tests.factories import RoutingRuleFactory
from tests.helpers import deliver, message
from tickets.models import Ticket, TimelineEvent

ANA_EMAIL = ("email", "ana@example.com")
ANA_WHATSAPP = ("whatsapp", "14155552671")


def opened(msg) -> Ticket:
    record = deliver(msg)
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


@pytest.fixture
def api_client():
    """api_client(user, "read") is a client sending that user's new token."""

    def make(user, *scopes: str) -> APIClient:
        _, key = do_issue_api_token(
            user=user, name="test", scopes=list(scopes) or [ApiToken.Scope.WRITE]
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


@pytest.fixture
def tech_ticket(teams) -> Ticket:
    """Ana's mail about her login, owned by Technical support (the default)."""
    return opened(
        message(
            "email",
            ANA_EMAIL,
            ANA_WHATSAPP,
            external_id="<login@ana.example>",
            sender_name="Ana Silva",
            subject="Login fails",
            text="I cannot log in since this morning.",
        )
    )


@pytest.fixture
def billing_ticket(teams) -> Ticket:
    """Bo's mail about an invoice, which a rule gives to Billing."""
    RoutingRuleFactory(name="Invoices", team=teams["billing"], keywords=["invoice"])
    ticket = opened(
        message(
            "email",
            ("email", "bo@example.com"),
            sender_name="Bo Chen",
            subject="Wrong invoice",
            text="My invoice shows the wrong amount.",
        )
    )
    assert ticket.team == teams["billing"]
    return ticket
