"""The API's guarantees over HTTP, against a desk served by daphne with a Celery
worker, PostgreSQL and Redis: a read-only token writes nothing anywhere, another
team's ticket is a 404 on every ticket endpoint, undeclared keys in a body are
refused rather than applied, and a token past its rate limit gets a 429 with
Retry-After. Refusals change nothing in the database.

The desk is built once for the module, through its actions, and committed, so
the server sees it; each test runs in a transaction of its own that writes
nothing (what it sends is refused), and the database is emptied when the module
ends, as transactional tests leave it.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from django.core.management import call_command
from django.test import override_settings

from channels_app.outbound_webhooks.outbox import forget_subscriptions
from customers.models import Identity
from supportdesk.api.permissions import TokenScope
from supportdesk.api.tokens import do_issue_api_token
from supportdesk.models import ApiToken
from tests.factories import AgentFactory, TeamFactory
from tests.provider_server import ProviderServer, Reply
from tests.server import (
    DeskServer,
    layer_prefix,  # noqa: F401  (a fixture)
    serving_desk,
)
from tests.supportdesk.api.live_support import ROWS, seed_desk
from tests.worker import Worker, running_worker
from tickets.models import (
    Agent,
    TeamMembership,
    TimelineEvent,
)

# Not transactional: the flush after each transactional test would take the
# module's data with it.
pytestmark = [pytest.mark.worker, pytest.mark.django_db]

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Requests a token may make per minute on the server of the rate-limit test.
SMALL_RATE_LIMIT = 3
UNKNOWN = ["Unknown field."]
# The rows a refused request must leave as they were; agents and tokens by what
# a request could change (signing in and using a token touch other columns).
WATCHED = [*ROWS.values(), TeamMembership, TimelineEvent, Identity]
WATCHED_FIELDS = {
    Agent: ["id", "role", "is_active"],
    ApiToken: ["id", "user", "scopes", "revoked_at"],
}


@dataclass(frozen=True)
class Desk:
    ids: dict[str, int]  # a real id of each collection
    own_ticket: int  # Technical support's: Tom's team's
    other_ticket: int  # Billing's
    other_customer: int  # Billing's ticket's customer, on no other ticket
    people: dict[str, int]  # agents' ids by username
    teams: dict[str, int]
    # "read": Sam's, read-only; "agent": Tom's, read-write; "admin": Sam's;
    # "burst" and "spare": Tom's, for the rate-limit test alone.
    keys: dict[str, str]


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def desk(django_db_setup, django_db_blocker) -> Iterator[Desk]:
    """The module's desk, built through its actions and committed before the
    worker starts (tasks run in this process meanwhile)."""
    with django_db_blocker.unblock():
        forget_subscriptions()
        receiver = ProviderServer().start()
        try:
            receiver.route("POST", "/hooks", Reply(status=200, body={"ok": True}))
            with override_settings(WEBHOOK_ALLOWED_TARGET_NETWORKS=["127.0.0.0/8"]):
                built = _build_desk(receiver)
            yield built
        finally:
            receiver.stop()
            forget_subscriptions()
            # What TransactionTestCase does after each test: the next module
            # starts from an empty database.
            call_command("flush", interactive=False, verbosity=0)


def _build_desk(receiver: ProviderServer) -> Desk:
    billing = TeamFactory(name="Billing", slug="billing")
    tech = TeamFactory(name="Technical support", slug="tech", is_default=True)
    sales = TeamFactory(name="Sales", slug="sales")
    sam = AgentFactory(username="sam", role=Agent.Role.SUPERVISOR)
    tom = AgentFactory(username="tom", teams=[tech])
    bea = AgentFactory(username="bea", teams=[billing])
    own, other = seed_desk(
        billing=billing, actor=sam, hooks_url=f"{receiver.url}/hooks"
    )
    assert (own.team, other.team) == (tech, billing)
    ids = {
        name: model.objects.order_by("pk").values_list("pk", flat=True).first()
        for name, model in ROWS.items()
    }
    assert all(ids.values()), ids
    keys = {
        "read": do_issue_api_token(user=sam, name="reports", scopes=["read"])[1],
        "agent": do_issue_api_token(user=tom, name="crm", scopes=["read", "write"])[1],
        "admin": do_issue_api_token(user=sam, name="config", scopes=["admin"])[1],
        "burst": do_issue_api_token(user=tom, name="burst", scopes=["write"])[1],
        "spare": do_issue_api_token(user=tom, name="spare", scopes=["read"])[1],
    }
    return Desk(
        ids={**ids, "tickets": own.pk},
        own_ticket=own.pk,
        other_ticket=other.pk,
        other_customer=other.customer_id,
        people={agent.username: agent.pk for agent in (sam, tom, bea)},
        teams={team.slug: team.pk for team in (billing, tech, sales)},
        keys=keys,
    )


@pytest.fixture(scope="module")
def worker(desk, layer_prefix, tmp_path_factory) -> Iterator[Worker]:  # noqa: F811
    with running_worker(tmp_path_factory.mktemp("worker")) as running:
        yield running


@pytest.fixture(scope="module")
def server(worker, layer_prefix, tmp_path_factory) -> Iterator[DeskServer]:  # noqa: F811
    with serving_desk(
        worker=worker,
        layer_prefix=layer_prefix,
        log_dir=tmp_path_factory.mktemp("desk"),
        # The rate-limit test has a server of its own.
        extra_env={"API_RATE_LIMIT": "100000/min"},
    ) as served:
        yield served


# ------------------------------------------------------------------- helpers


def call(server: DeskServer, key: str, method: str, path: str, body=None):
    return requests.request(
        method,
        f"{server.url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def operations(server: DeskServer) -> list[tuple[str, str]]:
    """(method, path template) of every operation the published schema lists."""
    answer = requests.get(f"{server.url}/api/schema/?format=json", timeout=30)
    answer.raise_for_status()
    return [
        (method.upper(), path)
        for path, item in answer.json()["paths"].items()
        for method in item
        if method.upper() in {"GET", *WRITE_METHODS}
    ]


def filled(path: str, desk: Desk, ticket: int | None = None) -> str:
    collection = path.removeprefix("/api/v1/").split("/")[0]
    row = ticket if ticket is not None and collection == "tickets" else None
    path = path.replace("{id}", str(row or desk.ids.get(collection, 0)))
    assert "{" not in path, f"a path parameter this test does not fill: {path}"
    return path


def valid_bodies(desk: Desk) -> dict[tuple[str, str], dict]:
    """A body each write would accept, so that only the refusal under test
    stands between the request and a change."""
    call_log = {
        "direction": "inbound",
        "number": "+14155550123",
        "duration_seconds": 90,
        "outcome": "answered",
    }
    t, r, w = "/api/v1/tickets/{id}", "/api/v1/rules", "/api/v1/webhook-endpoints"
    return {
        ("POST", "/api/v1/calls/"): {**call_log, "ticket": desk.own_ticket},
        ("POST", "/api/v1/customers/{id}/merge/"): {
            "other_customer": desk.other_customer
        },
        ("POST", f"{t}/reply/"): {"text": "Thanks, we are on it."},
        ("POST", f"{t}/template/"): {"template_name": "hello", "language": "en"},
        ("POST", f"{t}/notes/"): {"text": "Checked the logs."},
        ("POST", f"{t}/calls/"): call_log,
        ("POST", f"{t}/status/"): {"status": "pending"},
        ("POST", f"{t}/priority/"): {"priority": "high"},
        ("POST", f"{t}/assign/"): {"assignee": desk.people["tom"]},
        ("POST", f"{t}/reassign/"): {"team": desk.teams["sales"], "reason": "Sale"},
        ("POST", f"{t}/resolve/"): {"resolution_note": "Password reset."},
        ("POST", f"{r}/"): {"name": "Refunds", "team": desk.teams["sales"]},
        ("PUT", f"{r}/{{id}}/"): {"name": "Bills", "keywords": ["bill"]},
        ("PATCH", f"{r}/{{id}}/"): {"name": "Bills"},
        ("POST", f"{r}/{{id}}/team/"): {"team": desk.teams["sales"]},
        ("POST", f"{r}/order/"): {"ids": [desk.ids["rules"]]},
        ("POST", f"{w}/"): {
            "url": "https://hooks.example.com/desk",
            "events": ["ticket.resolved"],
        },
        ("PATCH", f"{w}/{{id}}/"): {"enabled": False},
    }


def error_of(answer: requests.Response) -> dict:
    """The error object of a JSON error answer; {} for any other answer."""
    is_json = answer.headers.get("Content-Type", "").startswith("application/json")
    body = answer.json() if is_json else None
    return body["error"] if isinstance(body, dict) and set(body) == {"error"} else {}


def refusal(answer: requests.Response) -> tuple[int, str | None]:
    return answer.status_code, error_of(answer).get("code")


def desk_state() -> dict[str, list[dict]]:
    return {
        model.__name__: list(
            model.objects.order_by("pk").values(*WATCHED_FIELDS.get(model, ()))
        )
        for model in {*WATCHED, *WATCHED_FIELDS}
    }


# --------------------------------------------------------------------- tests


def test_a_read_only_token_writes_nowhere(server, desk):
    """Every write the schema lists, with real ids and a body it would accept,
    answers a supervisor's read-only token 403 for its scopes, and nothing in
    the desk changes; the same token reads."""
    key = desk.keys["read"]
    assert call(server, key, "GET", "/api/v1/tickets/").status_code == 200
    writes = [op for op in operations(server) if op[0] in WRITE_METHODS]
    assert len(writes) > 20
    bodies = valid_bodies(desk)
    before = desk_state()

    answers = {}
    for method, path in writes:
        answer = call(
            server, key, method, filled(path, desk), bodies.get((method, path))
        )
        # Refused for the token's scopes, not for the user's role or the input.
        for_scopes = TokenScope.message in str(error_of(answer).get("message"))
        answers[f"{method} {path}"] = (*refusal(answer), for_scopes)

    assert answers == dict.fromkeys(answers, (403, "permission_denied", True))
    assert desk_state() == before


def test_another_teams_ticket_is_a_404_on_every_ticket_endpoint(server, desk):
    """An agent's read-write token gets 404 from every operation on a ticket of
    a team not theirs, reads and writes with bodies they would accept alike; the
    ticket is neither listed nor found, nor is its customer or a call logged on
    it, and nothing changes."""
    key, other = desk.keys["agent"], desk.other_ticket
    own = call(server, key, "GET", f"/api/v1/tickets/{desk.own_ticket}/")
    assert own.status_code == 200
    on_a_ticket = [
        op for op in operations(server) if op[1].startswith("/api/v1/tickets/{id}/")
    ]
    assert {method for method, _ in on_a_ticket} == {"GET", "POST"}
    assert len(on_a_ticket) >= 10
    bodies = valid_bodies(desk)
    customer = f"/api/v1/customers/{desk.other_customer}"
    logged = {**bodies[("POST", "/api/v1/calls/")], "ticket": other}
    requests_made = [
        *(
            (method, filled(path, desk, other), bodies.get((method, path)))
            for method, path in on_a_ticket
        ),
        ("GET", f"{customer}/", None),
        ("GET", f"{customer}/timeline/", None),
        ("GET", f"{customer}/tickets/", None),
        ("POST", "/api/v1/calls/", logged),
    ]
    before = desk_state()

    answers = {
        f"{method} {path}": refusal(call(server, key, method, path, body))
        for method, path, body in requests_made
    }

    assert answers == dict.fromkeys(answers, (404, "not_found"))
    for query in ("?status=all", "?status=all&q=Invoice"):
        listed = call(server, key, "GET", f"/api/v1/tickets/{query}").json()
        assert other not in [ticket["id"] for ticket in listed["results"]]
    assert desk_state() == before


def test_keys_a_write_does_not_take_are_refused_not_applied(server, desk):
    """A body that adds an owning team, customer, author, status, assignee,
    ticket, id, position or creation time to what a write takes is refused whole
    with 400 invalid, each such key named in `fields`, and nothing changes."""
    agent, admin = desk.keys["agent"], desk.keys["admin"]
    bodies = valid_bodies(desk)
    extra = {
        "team": desk.teams["sales"],
        "customer": desk.other_customer,
        "author": desk.people["sam"],
        "status": "closed",
        "assignee": desk.people["bea"],
        "ticket": desk.other_ticket,
        "id": 999_999,
        "created_at": "2001-02-03T04:05:06Z",
        "position": 0,
    }
    t, r, w = "/api/v1/tickets/{id}", "/api/v1/rules", "/api/v1/webhook-endpoints"
    # (token, method, path, the keys added); the rest of each body is valid.
    attempts = [
        (agent, "POST", f"{t}/reply/", extra.keys() - {"position"}),
        (agent, "POST", f"{t}/notes/", extra.keys() - {"position"}),
        (agent, "POST", f"{t}/calls/", {"customer", "ticket", "author", "team"}),
        (agent, "POST", f"{t}/status/", {"team", "assignee", "author", "id"}),
        (agent, "POST", f"{t}/priority/", {"team", "customer", "status"}),
        (agent, "POST", f"{t}/assign/", {"team", "status", "ticket"}),
        (agent, "POST", f"{t}/resolve/", {"status", "assignee", "author"}),
        (agent, "POST", "/api/v1/calls/", {"author", "team", "created_at"}),
        (admin, "POST", f"{t}/reassign/", {"customer", "status", "author"}),
        (admin, "POST", f"{r}/", {"id", "position", "created_at"}),
        (admin, "PUT", f"{r}/{{id}}/", {"team", "position"}),
        (admin, "PATCH", f"{r}/{{id}}/", {"team", "position", "id"}),
        (admin, "POST", f"{r}/{{id}}/team/", {"position", "id"}),
        (admin, "POST", f"{w}/", {"id", "created_at", "team"}),
        (admin, "PATCH", f"{w}/{{id}}/", {"id", "created_at"}),
    ]
    before = desk_state()

    answers = {}
    for key, method, path, added in attempts:
        body = {**bodies[(method, path)], **{name: extra[name] for name in added}}
        error = error_of(call(server, key, method, filled(path, desk), body))
        answers[f"{method} {path}"] = (
            error.get("code"),
            error.get("fields"),
            str(error.get("message")).endswith("Unknown field."),
        )

    assert answers == {
        f"{method} {path}": ("invalid", dict.fromkeys(added, UNKNOWN), True)
        for _, method, path, added in attempts
    }
    assert desk_state() == before


def test_a_token_past_its_rate_limit_gets_429_with_retry_after(
    desk,
    worker,
    layer_prefix,  # noqa: F811
    tmp_path,
):
    """Past API_RATE_LIMIT a token's requests answer 429 rate_limited with a
    Retry-After header (and the same seconds in the body) and are not carried
    out; another token of the same user is still served."""
    key, note = desk.keys["burst"], {"text": "One request too many."}
    with serving_desk(
        worker=worker,
        layer_prefix=layer_prefix,
        log_dir=tmp_path,
        extra_env={"API_RATE_LIMIT": f"{SMALL_RATE_LIMIT}/min"},
    ) as limited:
        served = [
            call(limited, key, "GET", "/api/v1/tickets/").status_code
            for _ in range(SMALL_RATE_LIMIT)
        ]
        before = desk_state()
        notes = f"/api/v1/tickets/{desk.own_ticket}/notes/"
        over = call(limited, key, "POST", notes, note)
        still = call(limited, desk.keys["spare"], "GET", "/api/v1/tickets/")

    assert served == [200] * SMALL_RATE_LIMIT
    assert refusal(over) == (429, "rate_limited")
    wait = error_of(over)["retry_after"]
    assert 0 < wait <= 60
    assert over.headers["Retry-After"] == str(wait)
    assert still.status_code == 200
    assert desk_state() == before
