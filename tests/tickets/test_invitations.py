"""Inviting agents: a supervisor invites by email, the agent sets a password through
a one-time link and is signed in; invitations are resent and revoked."""

import re
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.test import Client

from tickets.invitations import InvitationTokenGenerator
from tickets.models import Agent, Invitation

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet-harbour-41"


@pytest.fixture
def supervisor_client(client, supervisor):
    client.force_login(supervisor)
    return client


def invite(client, teams, *, email="nia@example.org", role="agent", **fields):
    return client.post(
        "/supervisor/agents/",
        {
            "first_name": "Nia",
            "last_name": "Osei",
            "email": email,
            "role": role,
            "team": teams["billing"].pk,
            **fields,
        },
    )


def invited(client, teams, django_capture_on_commit_callbacks, **kwargs) -> str:
    """Invite, let the mail leave after commit, and return the mailed link's path."""
    with django_capture_on_commit_callbacks(execute=True):
        answer = invite(client, teams, **kwargs)
    assert answer.status_code == 302, answer.content.decode()
    return link_in(mail.outbox[-1].body)


def link_in(body: str) -> str:
    return re.search(r"https?://[^/\s]+(/\S+/)", body).group(1)


def accept(link: str, password: str = NEW_PASSWORD) -> tuple[Client, object]:
    """Open the link in a fresh browser and set the password."""
    browser = Client()
    landing = browser.get(link)
    if landing.status_code != 302:
        return browser, landing
    return browser, browser.post(
        landing["Location"],
        {"new_password1": password, "new_password2": password},
    )


def test_the_invited_agent_gets_a_mail_sets_a_password_and_is_signed_in(
    supervisor_client, teams, django_capture_on_commit_callbacks
):
    link = invited(supervisor_client, teams, django_capture_on_commit_callbacks)

    message = mail.outbox[-1]
    assert message.to == ["nia@example.org"]
    assert "invited" in message.subject
    assert "nia@example.org" in message.body and "Billing" in message.body
    agent = Agent.objects.get(email="nia@example.org")
    assert not agent.is_active and not agent.has_usable_password()
    assert not Client().login(username="nia@example.org", password=NEW_PASSWORD)

    browser, answer = accept(link)

    assert answer.status_code == 302 and answer["Location"] == "/"
    queue = browser.get("/queue/")
    assert queue.status_code == 200
    assert "Nia Osei" in queue.content.decode()
    agent.refresh_from_db()
    assert agent.is_active and agent.role == Agent.Role.AGENT
    assert list(agent.teams.values_list("slug", flat=True)) == ["billing"]
    assert Client().login(username="nia@example.org", password=NEW_PASSWORD)


def test_a_link_used_once_is_refused_the_second_time(
    supervisor_client, teams, django_capture_on_commit_callbacks
):
    link = invited(supervisor_client, teams, django_capture_on_commit_callbacks)
    accept(link)

    _, second = accept(link, password="another-password-77")

    assert second.status_code == 200
    assert "This link does not work" in second.content.decode()
    assert Client().login(username="nia@example.org", password=NEW_PASSWORD)
    assert not Client().login(
        username="nia@example.org", password="another-password-77"
    )


def test_an_expired_link_is_refused(
    supervisor_client, teams, django_capture_on_commit_callbacks, settings
):
    invited(supervisor_client, teams, django_capture_on_commit_callbacks)
    agent = Agent.objects.get(email="nia@example.org")

    class EightDaysAgo(InvitationTokenGenerator):
        def _now(self):
            return datetime.now() - timedelta(days=settings.INVITATION_MAX_AGE_DAYS + 1)

    fresh = link_in(mail.outbox[-1].body)
    old = fresh.replace(fresh.split("/")[-2], EightDaysAgo().make_token(agent))

    _, answer = accept(old)

    assert "This link does not work" in answer.content.decode()
    agent.refresh_from_db()
    assert not agent.is_active


def test_resending_mails_a_new_link_and_voids_the_old_one(
    supervisor_client, teams, django_capture_on_commit_callbacks
):
    first = invited(supervisor_client, teams, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        answer = supervisor_client.post(
            f"/supervisor/agents/invitations/{invitation.pk}/resend/"
        )

    assert answer.status_code == 302
    assert len(mail.outbox) == 2
    second = link_in(mail.outbox[-1].body)
    assert "This link does not work" in accept(first)[1].content.decode()
    assert accept(second)[1].status_code == 302


def test_a_revoked_invitation_cannot_be_taken_up(
    supervisor_client, teams, django_capture_on_commit_callbacks
):
    link = invited(supervisor_client, teams, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()

    supervisor_client.post(f"/supervisor/agents/invitations/{invitation.pk}/revoke/")

    assert "This link does not work" in accept(link)[1].content.decode()
    assert not Agent.objects.get(email="nia@example.org").is_active
    page = supervisor_client.get("/supervisor/agents/").content.decode()
    assert "No invitation is waiting." in page


def test_the_agents_page_lists_waiting_invitations_with_their_buttons(
    supervisor_client, teams, django_capture_on_commit_callbacks
):
    invited(supervisor_client, teams, django_capture_on_commit_callbacks)

    page = supervisor_client.get("/supervisor/agents/").content.decode()

    assert "nia@example.org" in page
    assert ">Resend<" in page and ">Revoke<" in page


def test_an_address_already_in_use_is_refused(supervisor_client, teams, supervisor):
    supervisor.email = "sam@example.org"
    supervisor.save(update_fields=["email"])

    answer = invite(supervisor_client, teams, email="SAM@example.org")

    assert answer.status_code == 400
    assert "exists already" in answer.content.decode()
    assert not Invitation.objects.exists()


def test_a_supervisor_cannot_invite_an_admin_but_an_admin_can(
    supervisor, admin_client, teams
):
    supervisor_client = Client()
    supervisor_client.force_login(supervisor)

    refused = invite(supervisor_client, teams, role="admin")

    assert refused.status_code == 400
    assert not Agent.objects.filter(email="nia@example.org").exists()
    assert invite(admin_client, teams, role="admin").status_code == 302
    admin = Agent.objects.get(email="nia@example.org")
    assert admin.role == Agent.Role.ADMIN and admin.is_superuser


def test_agents_may_not_invite(client, billing_agent, teams):
    client.force_login(billing_agent)

    assert invite(client, teams).status_code == 403
    assert client.get("/supervisor/agents/").status_code == 403
    assert not Invitation.objects.exists()


def test_the_first_admin_made_by_createsuperuser_may_invite(client, teams):
    root = Agent.objects.create_superuser("root", "root@example.org", "a-pass-1234")
    client.force_login(root)

    assert root.role == Agent.Role.ADMIN
    assert client.get("/supervisor/agents/").status_code == 200
