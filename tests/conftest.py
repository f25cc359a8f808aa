import pytest
from channels.layers import get_channel_layer
from django.db import connection

from tests.dovecot import dovecot, imap_folder  # noqa: F401  (fixtures)
from tests.factories import AgentFactory, TeamFactory
from tests.flush import flush_with_delete
from tests.hashers import hash_passwords_quickly
from tests.parallel import isolate_this_worker
from tests.smtp_server import smtp_server  # noqa: F401  (a fixture)
from tests.worker import desk_worker  # noqa: F401  (a fixture)
from tickets.models import Agent

# Fixtures that start other processes: a Celery worker, a desk server, a browser,
# the embedded desk. The modules that use them are the suite's slowest.
PROCESS_FIXTURES = frozenset(
    {"desk_worker", "desk_server", "browser", "embedded_server"}
)


def pytest_configure(config):
    isolate_this_worker()
    hash_passwords_quickly()
    flush_with_delete()


def pytest_collection_modifyitems(config, items):
    """In a parallel run, modules that start processes go first. xdist hands out
    whole modules in the order their first test was collected, so the long ones
    start at once and the short ones fill in around them, instead of one long
    module running alone at the end. A run in one process keeps pytest-django's
    order (each module's tests keep it in a parallel run too)."""
    if not hasattr(config, "workerinput"):
        return
    slow = {
        item.path
        for item in items
        if item.get_closest_marker("worker")
        or PROCESS_FIXTURES.intersection(item.fixturenames)
    }
    items.sort(key=lambda item: item.path not in slow)


@pytest.fixture(autouse=True)
def _clear_outbox():
    from channels_app.adapters import memory

    memory.outbox.clear()
    yield
    memory.outbox.clear()


@pytest.fixture(autouse=True)
def _forget_webhook_subscriptions():
    """Each test starts without the webhook subscriptions an earlier test in this
    process cached: the cache would expire at a moment of that test's choosing, in
    the middle of this one (a query more, or an endpoint already deleted)."""
    from channels_app.outbound_webhooks.outbox import forget_subscriptions

    forget_subscriptions()
    yield
    forget_subscriptions()


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
def admin_client(client, db):
    """A test client signed in as the desk's site admin, "root" (in place of
    pytest-django's, whose admin is not a desk agent)."""
    root = AgentFactory(
        username="root", role=Agent.Role.ADMIN, is_staff=True, is_superuser=True
    )
    client.force_login(root)
    return client


@pytest.fixture
def published(monkeypatch):
    """Every realtime event handed to the channel layer, as (group, event) pairs."""
    sent: list[tuple[str, dict]] = []

    async def group_send(group, message):
        sent.append((group, message["event"]))

    monkeypatch.setattr(get_channel_layer(), "group_send", group_send)
    return sent


@pytest.fixture
def on_postgres():
    assert connection.vendor == "postgresql", "the suite runs against PostgreSQL"


@pytest.fixture
def provider_server():
    """A recording stand-in for a provider's HTTP API on loopback."""
    from tests.provider_server import ProviderServer

    server = ProviderServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def corpus_dir():
    """The shared folder of real-world payloads beside the project."""
    from pathlib import Path

    from django.conf import settings

    path = Path(settings.BASE_DIR).parent / "shared" / "corpus"
    if not path.is_dir():
        pytest.fail(f"the test corpus is missing: expected it at {path}")
    return path
