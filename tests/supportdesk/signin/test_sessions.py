"""An agent's sessions: signed out after a while without activity, listed on
the account page, and ended everywhere else at a click."""

import time

import pytest
from django.test import Client

from supportdesk.models import SignInSession
from supportdesk.signin.sessions import SEEN_KEY
from tests.supportdesk.signin.helpers import sign_in

pytestmark = pytest.mark.django_db

FIREFOX = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux) Firefox/140.0"}
PHONE = {
    "HTTP_USER_AGENT": "Mozilla/5.0 (Android 15) Mobile Safari",
    "REMOTE_ADDR": "203.0.113.9",
}


def went_quiet(client: Client, seconds: int) -> None:
    """Moves the session's last activity back, as if that much time had passed."""
    session = client.session
    session[SEEN_KEY] = int(time.time()) - seconds
    session.save()


def test_an_idle_session_is_signed_out(billing_agent, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 1800
    client = Client()
    sign_in(client, "bea")
    assert client.get("/queue/").status_code == 200

    went_quiet(client, 1801)
    answer = client.get("/queue/")

    assert answer.status_code == 302 and answer["Location"].startswith("/login/")
    page = client.get(answer["Location"]).content.decode()
    assert "You were signed out after 30 minutes without activity." in page
    assert client.get("/queue/").status_code == 302


def test_a_session_in_use_stays_signed_in(billing_agent, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 1800
    client = Client()
    sign_in(client, "bea")

    went_quiet(client, 1700)
    assert client.get("/queue/").status_code == 200
    went_quiet(client, 1700)

    assert client.get("/queue/").status_code == 200


def test_the_account_page_lists_each_browser_signed_in(billing_agent):
    laptop, phone = Client(**FIREFOX), Client(**PHONE)
    sign_in(laptop, "bea")
    sign_in(phone, "bea")

    page = laptop.get("/account/").content.decode()

    assert "Firefox/140.0" in page and "Android 15" in page
    assert "203.0.113.9" in page and "127.0.0.1" in page
    assert page.count("this one") == 1


def test_sign_out_everywhere_else_ends_the_other_sessions(billing_agent):
    laptop, phone = Client(**FIREFOX), Client(**PHONE)
    sign_in(laptop, "bea")
    sign_in(phone, "bea")
    assert phone.get("/queue/").status_code == 200

    answer = laptop.post("/account/sessions/sign-out-others/", follow=True)

    assert "Signed out of 1 other session." in answer.content.decode()
    assert phone.get("/queue/").status_code == 302
    assert laptop.get("/queue/").status_code == 200
    assert "Android 15" not in laptop.get("/account/").content.decode()


def test_signing_out_drops_the_session_from_the_list(billing_agent):
    laptop, phone = Client(**FIREFOX), Client(**PHONE)
    sign_in(laptop, "bea")
    sign_in(phone, "bea")

    phone.post("/logout/")

    # Gone at once, not only when the account page next looks.
    assert SignInSession.objects.filter(user=billing_agent).count() == 1
    assert "Android 15" not in laptop.get("/account/").content.decode()
