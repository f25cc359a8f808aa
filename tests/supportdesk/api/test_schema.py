"""The published OpenAPI schema holds for the running API: every operation,
called with generated input by an agent's and a supervisor's token, answers a
status the schema documents, never a 5xx, with a body of the documented shape.
The docs page is Swagger UI from the desk's own static files."""

import re
import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from channels_app.models import InboundRecord
from channels_app.outbound_webhooks.outbox import forget_subscriptions
from customers.models import MergeSuggestion
from supportdesk.api.tokens import do_issue_api_token
from supportdesk.models import WebhookDelivery
from tests.helpers import deliver, message
from tests.provider_server import Reply
from tests.server import (
    layer_prefix,  # noqa: F401  (a fixture)
    serving_desk,
)
from tests.supportdesk.api.live_support import ROWS, seed_desk
from tests.worker import running_worker
from tickets.actions.rules import do_create_rule

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    # Raised inside schemathesis 3.x, which resolves references the older way.
    pytest.mark.filterwarnings(
        "ignore:jsonschema.RefResolver is deprecated:DeprecationWarning"
    ),
]

# Examples per operation and token: enough to reach each documented answer of
# most operations, few enough for a run of a couple of minutes on a busy machine.
EXAMPLES = 10
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@pytest.fixture(autouse=True)
def _fresh_subscriptions():
    forget_subscriptions()
    yield
    forget_subscriptions()


@pytest.fixture
def seeded(teams, supervisor, tech_agent, billing_agent, provider_server, settings):
    """A small desk built through its actions, before the worker starts (tasks
    run in this process meanwhile): tickets of three teams' customers, a rule, a
    merge and a merge suggestion, a failed inbound record, a webhook endpoint
    with its deliveries. Answers the tokens' keys."""
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = ["127.0.0.0/8"]
    provider_server.route("POST", "/hooks", Reply(status=200, body={"ok": True}))
    seed_desk(
        billing=teams["billing"],
        actor=supervisor,
        hooks_url=f"{provider_server.url}/hooks",
    )
    do_create_rule(name="Sales chats", team=teams["sales"], channels=["chat"])
    deliver(message("chat", ("web", "visitor-1"), text="Do you ship abroad?"))
    assert InboundRecord.objects.filter(status="failed").exists()
    assert MergeSuggestion.objects.exists()
    assert WebhookDelivery.objects.exists()
    _, agent_key = do_issue_api_token(
        user=tech_agent, name="agent", scopes=["read", "write"]
    )
    _, supervisor_key = do_issue_api_token(
        user=supervisor, name="sup", scopes=["admin"]
    )
    return {"agent": agent_key, "supervisor": supervisor_key}


@pytest.fixture
def desk_api(seeded, layer_prefix, tmp_path):  # noqa: F811
    """The desk served by daphne, with a Celery worker, over the seeded data."""
    with (
        running_worker(tmp_path) as worker,
        serving_desk(
            worker=worker,
            layer_prefix=layer_prefix,
            log_dir=tmp_path,
            # Rate limits are documented (429), but would hide the answers behind.
            extra_env={"API_RATE_LIMIT": "100000/min"},
        ) as server,
    ):
        yield server


def known_ids(path: str) -> list[str]:
    collection = path.removeprefix("/api/v1/").split("/")[0]
    model = ROWS.get(collection)
    if model is None:
        return []
    return [str(pk) for pk in model.objects.order_by("pk").values_list("pk", flat=True)]


def failures_of(operation, *, who: str, key: str, answered: set) -> list[str]:
    """Run the operation's generated cases; what each failed check said. Adds
    (who, operation, status) of every answer to `answered`."""
    found: list[str] = []
    headers = {"Authorization": f"Bearer {key}"}
    # Existing rows first: Hypothesis tries its simplest choices early.
    ids = st.sampled_from([*known_ids(operation.path), None])

    @given(case=operation.as_strategy(), row=ids)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case, row):
        if row is not None and "id" in (case.path_parameters or {}):
            case.path_parameters["id"] = row
        # The token authenticates; a generated session cookie (the schema also
        # names browser sessions) holds bytes no HTTP client can send.
        case.cookies = None
        response = case.call(headers=headers, timeout=30)
        answered.add((who, operation.verbose_name, response.status_code))
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        exercise()
    except Exception as exc:  # each failure is reported below
        # Hypothesis groups distinct failures of one operation.
        for each in getattr(exc, "exceptions", None) or [exc]:
            found.append(f"{operation.verbose_name} as the {who}: {each}")
    return found


def test_every_operation_answers_as_its_schema_says(desk_api, seeded):
    """No operation answers 5xx, a status its schema leaves out, or a body that
    disagrees with its schema, for an agent's read-write token or a supervisor's
    admin token."""
    schema = schemathesis.from_uri(f"{desk_api.url}/api/schema/", base_url=desk_api.url)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40

    answered: set[tuple[str, str, int]] = set()
    failures = [
        failure
        for operation in operations
        for who, key in seeded.items()
        for failure in failures_of(operation, who=who, key=key, answered=answered)
    ]

    assert not failures, "\n\n".join(failures)
    # The calls reached the desk's data, not only its refusals.
    reads = {op.verbose_name for op in operations if op.method.upper() == "GET"}
    read_by_supervisor = {
        name for who, name, status in answered if (who, status) == ("supervisor", 200)
    }
    assert reads <= read_by_supervisor, reads - read_by_supervisor


def test_the_docs_page_runs_swagger_ui_from_the_desks_static_files(desk_api):
    """/api/docs/ loads Swagger UI's scripts and styles from /static/, not from a
    CDN, and they are served; its start script, a file of its own as the page's
    Content-Security-Policy wants, reads the schema at /api/schema/."""
    with urllib.request.urlopen(f"{desk_api.url}/api/docs/", timeout=10) as page:
        html = page.read().decode()

    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    scripts = [url for url in assets if url.endswith((".js", ".css"))]
    assert scripts
    assert all(url.startswith("/static/") for url in scripts), scripts
    assert any("swagger-ui-dist/swagger-ui-bundle" in url for url in scripts)
    # Nothing is fetched from another host, and nothing runs inline.
    assert not re.search(r"https?:|//[a-z]", html)
    assert not re.search(r"<script>|<style", html)
    (start,) = [url for url in assets if url.startswith("/api/docs/?")]
    with urllib.request.urlopen(f"{desk_api.url}{start}", timeout=10) as script:
        assert script.headers["Content-Type"].startswith("application/javascript")
        assert "/api/schema/" in script.read().decode()
    for url in scripts:
        with urllib.request.urlopen(f"{desk_api.url}{url}", timeout=10) as asset:
            assert asset.status == 200
            # Swagger UI's own files are large; the page's stylesheet is short.
            assert len(asset.read()) > (1000 if "swagger-ui-dist" in url else 100)
