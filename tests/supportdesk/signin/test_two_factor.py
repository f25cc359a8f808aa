"""Two-factor authentication: an agent sets up an authenticator app from the
account page, gets ten recovery codes once, and then signs in with a code after
the password; roles an admin names must set it up before anything else."""

import re
import time

import pytest
from django.core import mail
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.supportdesk.signin.helpers import give_code, sign_in

pytestmark = pytest.mark.django_db


def app_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """What the agent's authenticator app shows now, or some steps later."""
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits)
    generator.time = time.time() + steps_ahead * device.step
    return f"{generator.token():0{device.digits}d}"


def set_up_app(client: Client) -> tuple[TOTPDevice, list[str]]:
    """Goes through the account page's set-up; returns the device and codes."""
    page = client.get("/account/two-factor/")
    assert page.status_code == 200
    qr = client.get("/account/two-factor/qr.svg")
    assert qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    device = TOTPDevice.objects.get(confirmed=False)
    confirmed = client.post("/account/two-factor/", {"code": app_code(device)})
    assert confirmed.status_code == 302
    shown = client.get(confirmed["Location"]).content.decode()
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", shown)
    return TOTPDevice.objects.get(pk=device.pk), codes


@pytest.fixture
def enrolled(billing_agent):
    client = Client()
    client.force_login(billing_agent)
    device, codes = set_up_app(client)
    return device, codes


def test_set_up_confirms_the_app_and_shows_ten_recovery_codes_once(billing_agent):
    client = Client()
    client.force_login(billing_agent)

    device, codes = set_up_app(client)

    assert device.confirmed
    assert len(codes) == 10 and len(set(codes)) == 10
    again = client.get("/account/two-factor/recovery-codes/")
    assert again.status_code == 302 and codes[0] not in again.content.decode()
    account = client.get("/account/").content.decode()
    assert "10 recovery codes left" in account


def test_a_wrong_code_does_not_confirm_the_app(billing_agent):
    client = Client()
    client.force_login(billing_agent)
    client.get("/account/two-factor/")

    answer = client.post("/account/two-factor/", {"code": "000000"})

    assert answer.status_code == 400
    assert "That code did not work" in answer.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_sign_in_asks_for_the_code_after_the_password(enrolled):
    device, _ = enrolled
    client = Client()

    after_password = sign_in(client, "bea")

    assert after_password.status_code == 302
    assert after_password["Location"] == "/login/code/"
    assert client.get("/queue/").status_code == 302
    signed_in = give_code(client, app_code(device, steps_ahead=1))
    assert signed_in.status_code == 302 and signed_in["Location"] == "/"
    assert client.get("/queue/").status_code == 200


def test_a_wrong_code_keeps_the_agent_out(enrolled):
    client = Client()
    sign_in(client, "bea")

    answer = give_code(client, "123456")

    assert answer.status_code == 400
    assert client.get("/queue/").status_code == 302


def test_a_recovery_code_signs_in_once(enrolled):
    _, codes = enrolled
    first = Client()
    sign_in(first, "bea")

    assert give_code(first, codes[0].upper()).status_code == 302
    assert first.get("/queue/").status_code == 200

    second = Client()
    sign_in(second, "bea")
    refused = give_code(second, codes[0])
    assert refused.status_code == 400
    assert second.get("/queue/").status_code == 302


def test_a_password_reset_sign_in_still_owes_the_code(enrolled, billing_agent):
    device, _ = enrolled
    client = Client()
    # A sign-in that asked no code (as a reset link's does).
    client.force_login(billing_agent)

    held = client.get("/queue/")

    assert held.status_code == 302 and held["Location"] == "/login/code/"
    assert give_code(client, app_code(device, steps_ahead=1)).status_code == 302
    assert client.get("/queue/").status_code == 200


def test_a_required_role_without_a_device_is_sent_to_set_it_up(supervisor, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["supervisor", "admin"]
    client = Client()

    signed_in = sign_in(client, "sam")
    assert signed_in.status_code == 302

    for path in ("/", "/queue/", "/supervisor/rules/", "/account/"):
        answer = client.get(path)
        assert answer.status_code == 302, path
        assert answer["Location"] == "/account/two-factor/", path
    assert client.get("/api/v1/tickets/").status_code == 403
    set_up_app(client)
    assert client.get("/supervisor/rules/").status_code == 200


def test_a_required_role_may_not_turn_it_off(supervisor, settings):
    settings.TWO_FACTOR_REQUIRED_ROLES = ["supervisor"]
    client = Client()
    client.force_login(supervisor)
    set_up_app(client)

    client.post("/account/two-factor/remove/", {"password": "pass"})

    assert TOTPDevice.objects.filter(user=supervisor, confirmed=True).exists()


def test_turning_it_off_takes_the_password_and_then_signs_in_without_code(
    enrolled, billing_agent
):
    client = Client()
    sign_in(client, "bea")
    give_code(client, enrolled[1][0])

    client.post("/account/two-factor/remove/", {"password": "wrong"})
    assert TOTPDevice.objects.filter(confirmed=True).exists()
    client.post("/account/two-factor/remove/", {"password": "pass"})

    assert not TOTPDevice.objects.exists()
    again = Client()
    assert sign_in(again, "bea")["Location"] == "/"


def test_a_password_reset_link_signs_in_only_after_the_code(enrolled, billing_agent):
    device, _ = enrolled
    billing_agent.email = "bea@example.org"
    billing_agent.save(update_fields=["email"])
    Client().post("/password-reset/", {"email": "bea@example.org"})
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", mail.outbox[-1].body)
    client = Client()
    form = client.get(link.group(1))
    new = "copper-lantern-58"
    client.post(form["Location"], {"new_password1": new, "new_password2": new})

    held = client.get("/queue/")

    assert held.status_code == 302 and held["Location"] == "/login/code/"
    assert give_code(client, app_code(device, steps_ahead=1)).status_code == 302
    assert client.get("/queue/").status_code == 200
