"""Bodies the API cannot read: every door answers 400 with the API's JSON error,
however deeply the body nests, and changes nothing."""

import pytest
from rest_framework.test import APIClient

from supportdesk.api.tokens import do_issue_api_token
from tests.helpers import deliver, message
from tickets.models import RoutingRule, TimelineEvent

pytestmark = pytest.mark.django_db

DEEP_JSON = "[" * 50_000 + "]" * 50_000


def client_of(user, scope: str = "write") -> APIClient:
    _, key = do_issue_api_token(user=user, name="test", scopes=[scope])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def ticket(teams):
    record = deliver(message("email", ("email", "ana@example.com"), text="Help"))
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


@pytest.mark.parametrize(
    ("body", "said"),
    [
        pytest.param(DEEP_JSON, "nested deeper than", id="50,000 nested brackets"),
        pytest.param(
            '{"text": ' * 100 + "1" + "}" * 100,
            "nested deeper than 64 levels",
            id="past the depth limit",
        ),
        pytest.param('{"text": "cut short', "JSON parse error", id="broken"),
        pytest.param('{"text": NaN}', "NaN is not a JSON value", id="NaN"),
    ],
)
def test_a_body_that_is_not_json_gets_a_400_json_error(
    body, said, ticket, tech_agent, supervisor
):
    notes = client_of(tech_agent).post(
        f"/api/v1/tickets/{ticket.pk}/notes/", body, content_type="application/json"
    )
    rules = client_of(supervisor, "admin").post(
        "/api/v1/rules/", body, content_type="application/json"
    )
    calls = client_of(tech_agent).post(
        "/api/v1/calls/", body, content_type="application/json"
    )

    for response in (notes, rules, calls):
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "malformed_request"
        assert said in response.json()["error"]["message"]
    assert not TimelineEvent.objects.filter(kind="note").exists()
    assert not RoutingRule.objects.exists()
