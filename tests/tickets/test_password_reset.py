"""An agent who forgot the password gets a one-time link by mail and is signed in
once a new password is set."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.test import Client

from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "copper-lantern-58"


@pytest.fixture
def agent(teams):
    return AgentFactory(
        username="bea", email="bea@example.org", teams=[teams["billing"]]
    )


def ask_for_link(email: str) -> object:
    return Client().post("/password-reset/", {"email": email})


def link_in(body: str) -> str:
    return re.search(r"https?://[^/\s]+(/password-reset/\S+/)", body).group(1)


def set_password(link: str, password: str = NEW_PASSWORD) -> tuple[Client, object]:
    browser = Client()
    landing = browser.get(link)
    if landing.status_code != 302:
        return browser, landing
    return browser, browser.post(
        landing["Location"], {"new_password1": password, "new_password2": password}
    )


def test_the_sign_in_page_offers_a_reset():
    page = Client().get("/login/").content.decode()

    assert 'href="/password-reset/"' in page


def test_a_reset_link_is_mailed_and_signs_the_agent_in_with_the_new_password(
    agent, settings
):
    settings.PUBLIC_BASE_URL = "https://desk.example.com"

    sent = ask_for_link("BEA@example.org")

    assert sent.status_code == 302 and sent["Location"] == "/password-reset/sent/"
    message = mail.outbox[-1]
    assert message.to == ["bea@example.org"]
    assert "https://desk.example.com/password-reset/" in message.body
    browser, answer = set_password(link_in(message.body))
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert browser.get("/queue/").status_code == 200
    assert Client().login(username="bea", password=NEW_PASSWORD)
    assert not Client().login(username="bea", password="pass")


def test_a_reset_link_works_once(agent):
    ask_for_link("bea@example.org")
    link = link_in(mail.outbox[-1].body)
    set_password(link)

    _, again = set_password(link, password="second-try-password-9")

    assert "This link does not work" in again.content.decode()
    assert Client().login(username="bea", password=NEW_PASSWORD)


def test_an_expired_reset_link_is_refused(agent, settings):
    class TwoHoursAgo(PasswordResetTokenGenerator):
        def _now(self):
            return datetime.now() - timedelta(
                seconds=settings.PASSWORD_RESET_TIMEOUT + 3600
            )

    ask_for_link("bea@example.org")
    link = link_in(mail.outbox[-1].body)
    old = link.replace(link.split("/")[-2], TwoHoursAgo().make_token(agent))

    _, answer = set_password(old)

    assert "This link does not work" in answer.content.decode()
    assert Client().login(username="bea", password="pass")


def test_an_unknown_address_gets_the_same_page_and_no_mail(agent):
    sent = ask_for_link("nobody@example.org")

    assert sent.status_code == 302 and sent["Location"] == "/password-reset/sent/"
    assert mail.outbox == []
    page = Client().get("/password-reset/sent/").content.decode()
    assert "If a desk account has that address" in page


def test_an_invited_agent_who_has_not_accepted_gets_no_reset_mail(agent):
    agent.is_active = False
    agent.set_unusable_password()
    agent.save(update_fields=["is_active", "password"])

    ask_for_link("bea@example.org")

    assert mail.outbox == []
