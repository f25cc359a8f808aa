"""Every list endpoint reads a page in a fixed number of queries: ten rows cost
what one row costs, so a long queue or log does not slow the API row by row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from customers.actions import do_suggest_merge
from customers.models import Identity
from tests.factories import AgentFactory, RoutingRuleFactory, TeamFactory
from tests.helpers import deliver, message
from tickets.actions.merges import do_merge_customers

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/tickets/",
    "/api/v1/customers/",
    "/api/v1/customer-merges/",
    "/api/v1/merge-suggestions/",
    "/api/v1/teams/",
    "/api/v1/agents/",
    "/api/v1/route-changes/",
    "/api/v1/inbound-records/",
    "/api/v1/rules/",
]


def add_rows(start: int, stop: int, supervisor) -> None:
    """Rows of every kind the lists show, numbered start..stop-1: a team with an
    agent and a rule, and three customers writing in, the second merged into the
    first and the third suggested for a merge with it."""
    for n in range(start, stop):
        team = TeamFactory(name=f"Team {n}", slug=f"team-{n}")
        AgentFactory(username=f"agent{n}", first_name="Agent", teams=[team])
        RoutingRuleFactory(name=f"Rule {n}", team=team, keywords=[f"topic{n}"])
        for i, who in enumerate("abc"):
            deliver(
                message(
                    "email",
                    ("email", f"{who}{n}@example.com"),
                    ("whatsapp", f"1415555{2000 + 10 * n + i}"),
                    sender_name=f"Person {who}{n}",
                    subject=f"Question on topic{n}",
                )
            )
        first, second, third = (
            Identity.objects.get(value=f"{who}{n}@example.com").customer
            for who in "abc"
        )
        do_merge_customers(source=second, target=first, actor=supervisor)
        do_suggest_merge(customer=first, other=third, reason="Same person?")


def rows_in(body) -> int:
    return len(body["results"] if isinstance(body, dict) else body)


def queries_and_rows(client: APIClient) -> tuple[dict[str, int], dict[str, int]]:
    queries, rows = {}, {}
    for url in LISTS:
        with CaptureQueriesContext(connection) as context:
            response = client.get(url)
        assert response.status_code == 200, response.content
        queries[url], rows[url] = len(context), rows_in(response.json())
    return queries, rows


def test_a_list_costs_the_same_queries_for_one_row_and_for_ten(teams, supervisor):
    client = APIClient()
    client.force_authenticate(user=supervisor)
    add_rows(0, 1, supervisor)
    one_row, few = queries_and_rows(client)
    add_rows(1, 10, supervisor)
    ten_rows, more = queries_and_rows(client)
    # Each list grew, so the counts compare a short page with a long one.
    assert all(more[url] > few[url] for url in LISTS), (few, more)
    assert ten_rows == one_row
