import pytest
from django.test import Client

from tests.bench.timeline import counting_statements
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_counting_statements_sees_every_statement_of_a_request():
    """A request's statements are counted though its start clears the query log,
    and what the request answered comes back with the count."""
    client = Client()
    client.force_login(AgentFactory(username="tom"))

    answer, queries = counting_statements(lambda: client.get("/"))
    _, none = counting_statements(lambda: "no database")

    assert answer.status_code in {200, 302}
    assert queries >= 1
    assert none == 0
