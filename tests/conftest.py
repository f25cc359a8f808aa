import pytest
from django.db import connection

from tests.factories import AgentFactory, TeamFactory
from tickets.models import Agent


@pytest.fixture(autouse=True)
def _clear_outbox():
    from channels_app.adapters import memory

    memory.outbox.clear()
    yield
    memory.outbox.clear()


@pytest.fixture
def teams(db):
    """Billing, Technical support (the default) and Sales."""
    return {
        "billing": TeamFactory(name="Billing", slug="billing"),
        "tech": TeamFactory(name="Technical support", slug="tech", is_default=True),
        "sales": TeamFactory(name="Sales", slug="sales"),
    }


@pytest.fixture
def supervisor(db):
    return AgentFactory(username="sam", role=Agent.Role.SUPERVISOR)


@pytest.fixture
def billing_agent(teams):
    return AgentFactory(username="bea", teams=[teams["billing"]])


@pytest.fixture
def tech_agent(teams):
    return AgentFactory(username="tom", teams=[teams["tech"]])


@pytest.fixture
def on_postgres():
    assert connection.vendor == "postgresql", "the suite runs against PostgreSQL"
