"""Sign-in throttling: failures are counted per account and per address; a
locked one is refused with a clear message until it cools off or a supervisor
unlocks it. API tokens and the widget never go through it."""

import pytest
from axes.models import AccessAttempt
from django.test import Client
from rest_framework.test import APIClient

from supportdesk.api.tokens import do_issue_api_token
from tests.supportdesk.signin.helpers import sign_in

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-ins for this account or address"
OTHER_ADDRESS = {"REMOTE_ADDR": "198.51.100.7"}


def fail_thirty_times(username: str = "bea", **extra) -> list[int]:
    client = Client()
    return [
        sign_in(client, username, "wrong-password", **extra).status_code
        for _ in range(30)
    ]


def test_thirty_wrong_passwords_lock_the_account_and_the_right_one_is_refused(
    billing_agent, settings
):
    statuses = fail_thirty_times()

    limit = settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)
    assert set(statuses[limit - 1 :]) == {429}
    refused = sign_in(Client(), "bea")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert LOCKED in page
    assert "try again in 15 minutes or ask a supervisor" in page
    assert "_auth_user_id" not in refused.client.session


def test_the_locked_account_is_refused_from_another_address(billing_agent):
    fail_thirty_times()

    client = Client()
    refused = sign_in(client, "bea", **OTHER_ADDRESS)

    assert refused.status_code == 429 and LOCKED in refused.content.decode()
    assert client.get("/queue/").status_code == 302


def test_the_locked_address_refuses_other_accounts_too(billing_agent, tech_agent):
    fail_thirty_times("nobody-here")

    refused = sign_in(Client(), "tom")

    assert refused.status_code == 429 and LOCKED in refused.content.decode()
    # The same agent from elsewhere is not locked.
    assert sign_in(Client(), "tom", **OTHER_ADDRESS).status_code == 302


def test_a_supervisor_unlocks_the_account_and_the_agent_signs_in(
    billing_agent, supervisor
):
    fail_thirty_times()
    boss = Client()
    boss.force_login(supervisor)

    page = boss.get("/supervisor/sign-in-locks/").content.decode()
    assert "bea" in page and "Unlock sign-in" in page
    unlocked = boss.post("/supervisor/sign-in-locks/unlock/", {"username": "bea"})

    assert unlocked.status_code == 302
    agent = Client()
    assert sign_in(agent, "bea").status_code == 302
    assert agent.get("/queue/").status_code == 200
    assert (
        "No account is locked."
        in boss.get("/supervisor/sign-in-locks/").content.decode()
    )


def test_an_agent_may_not_unlock(billing_agent, tech_agent):
    fail_thirty_times()
    client = Client()
    client.force_login(tech_agent)

    answer = client.post("/supervisor/sign-in-locks/unlock/", {"username": "bea"})

    assert answer.status_code == 403
    assert sign_in(Client(), "bea").status_code == 429


def test_the_admin_sees_the_failures_and_deleting_them_unlocks(
    billing_agent, admin_client
):
    fail_thirty_times()
    attempt = AccessAttempt.objects.get(username="bea")

    listed = admin_client.get("/admin/axes/accessattempt/")
    deleted = admin_client.post(
        f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}
    )

    assert listed.status_code == 200 and "bea" in listed.content.decode()
    assert deleted.status_code == 302
    assert sign_in(Client(), "bea").status_code == 302


def test_the_admin_sign_in_is_the_desk_sign_in(billing_agent):
    answer = Client().get("/admin/login/?next=/admin/")

    assert answer.status_code == 302
    assert answer["Location"] == "/login/?next=/admin/"


def test_api_tokens_work_from_a_locked_address(billing_agent):
    _, key = do_issue_api_token(user=billing_agent, name="CRM", scopes=["read"])
    fail_thirty_times()

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert api.get("/api/v1/tickets/").status_code == 200


def test_a_right_password_before_the_limit_clears_the_count(billing_agent, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "bea", "wrong-password")

    assert sign_in(Client(), "bea").status_code == 302
    assert sign_in(Client(), "bea", "wrong-password").status_code == 200


def test_the_agents_page_unlocks_a_locked_agent(billing_agent, supervisor):
    fail_thirty_times()
    boss = Client()
    boss.force_login(supervisor)

    page = boss.get("/supervisor/agents/").content.decode()
    assert "Unlock sign-in" in page
    back = boss.post(
        "/supervisor/sign-in-locks/unlock/",
        {"username": "bea", "back": "/supervisor/agents/"},
    )

    assert back["Location"] == "/supervisor/agents/"
    assert "Unlock sign-in" not in boss.get("/supervisor/agents/").content.decode()
    assert sign_in(Client(), "bea").status_code == 302
