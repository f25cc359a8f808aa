"""API tokens: made by the command or the admin with the key shown once,
revoked in the admin, limited per token with 429 and Retry-After."""

import io

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from supportdesk.api.throttles import TokenRateThrottle
from supportdesk.api.tokens import do_issue_api_token
from supportdesk.models import ApiToken
from tickets.models import Agent

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def create_token(**options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", stdout=out, stderr=err, **options)
    return out.getvalue().strip(), err.getvalue()


def test_the_command_prints_a_key_that_works_with_its_scopes(tech_agent):
    key, note = create_token(user="tom", scopes="read", name="Reporting")

    token = ApiToken.objects.get()
    assert (token.user, token.name, token.scopes) == (tech_agent, "Reporting", ["read"])
    assert key.startswith("sdk_") and key not in note and token.key_start in note
    # Only a hash is kept.
    assert token.key_hash == ApiToken.hash_key(key) and key not in str(
        ApiToken.objects.values().get()
    )
    client = bearer(key)
    assert client.get(TICKETS).status_code == 200
    assert client.post(f"{TICKETS}1/notes/", {"text": "x"}).status_code == 403


def test_the_command_gives_write_with_read_when_asked(tech_agent):
    key, _ = create_token(user="tom", scopes="read,write", name="CRM")

    assert ApiToken.objects.get().scopes == ["read", "write"]
    # Past the scope check: the ticket does not exist.
    assert bearer(key).post(f"{TICKETS}1/notes/", {"text": "x"}).status_code == 404


@pytest.mark.parametrize(
    "options, words",
    [
        ({"user": "nobody", "scopes": "read", "name": "x"}, "No user"),
        ({"user": "tom", "scopes": "read,root", "name": "x"}, "scopes"),
        ({"user": "tom", "scopes": "", "name": "x"}, "scopes"),
        ({"user": "tom", "scopes": "read", "name": "  "}, "Name the token"),
    ],
)
def test_the_command_refuses_what_would_not_work(tech_agent, options, words):
    with pytest.raises(CommandError, match=words):
        create_token(**options)
    assert not ApiToken.objects.exists()


def test_a_revoked_token_is_a_401(tech_agent):
    token, key = do_issue_api_token(user=tech_agent, name="old", scopes=["read"])
    client = bearer(key)
    assert client.get(TICKETS).status_code == 200

    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    response = client.get(TICKETS)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_key_or_an_inactive_users_token_is_a_401(tech_agent):
    _, key = do_issue_api_token(user=tech_agent, name="t", scopes=["read"])

    assert bearer("sdk_" + "x" * 43).get(TICKETS).status_code == 401
    Agent.objects.filter(pk=tech_agent.pk).update(is_active=False)
    assert bearer(key).get(TICKETS).status_code == 401


def test_past_the_rate_a_token_gets_429_with_retry_after(tech_agent, supervisor):
    _, key = do_issue_api_token(user=tech_agent, name="busy", scopes=["read"])
    _, other_key = do_issue_api_token(user=supervisor, name="calm", scopes=["read"])
    for pk in ApiToken.objects.values_list("pk", flat=True):
        cache.delete(
            TokenRateThrottle.cache_format % {"scope": "token", "ident": f"token-{pk}"}
        )
    rates = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/min"}}
    client = bearer(key)

    with override_settings(REST_FRAMEWORK=rates):
        allowed = [client.get(TICKETS).status_code for _ in range(3)]
        refused = client.get(TICKETS)
        other = bearer(other_key).get(TICKETS)

    assert allowed == [200, 200, 200]
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["retry_after"] == int(refused["Retry-After"])
    # The limit is per token: another token is not slowed by this one.
    assert other.status_code == 200


# -------------------------------------------------------------------- admin


def test_a_token_made_in_the_admin_shows_its_key_once(admin_client, tech_agent):
    response = admin_client.post(
        "/admin/supportdesk/apitoken/add/",
        {"user": tech_agent.pk, "name": "Bot", "scopes": ["read", "write"]},
        follow=True,
    )

    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    [shown] = [m for m in messages if m.startswith("The key of")]
    key = shown.split(": ", 1)[1].split(" ", 1)[0]
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.scopes) == (
        tech_agent,
        "Bot",
        ["read", "write"],
    )
    assert token.key_hash == ApiToken.hash_key(key)
    assert bearer(key).get(TICKETS).status_code == 200
    # The token's own page does not show the key again.
    page = admin_client.get(f"/admin/supportdesk/apitoken/{token.pk}/change/")
    assert key not in page.content.decode()
    assert token.key_start in page.content.decode()


def test_revoking_in_the_admin_ends_the_tokens(admin_client, tech_agent):
    _, key = do_issue_api_token(user=tech_agent, name="Bot", scopes=["read"])
    _, kept_key = do_issue_api_token(user=tech_agent, name="Other", scopes=["read"])

    response = admin_client.post(
        "/admin/supportdesk/apitoken/",
        {
            "action": "revoke",
            "_selected_action": [ApiToken.objects.get(name="Bot").pk],
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 1 token(s)." in [str(m) for m in response.context["messages"]]
    assert bearer(key).get(TICKETS).status_code == 401
    assert bearer(kept_key).get(TICKETS).status_code == 200
