"""Sign-in pages in a real browser at phone width: two-factor set-up from the
account page (its QR code drawn by the desk), sign-in with a code, and the
sessions list, all under the pages' CSP (the shared fixture fails a violation)."""

import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 360, "height": 740}


def app_code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits)
    generator.time = time.time() + steps_ahead * device.step
    return f"{generator.token():06d}"


def fits_the_width(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_an_agent_sets_up_two_factor_and_signs_in_with_a_code_on_a_phone(
    open_page, desk_server, tech_agent
):
    page = open_page(tech_agent)
    page.set_viewport_size(PHONE)

    page.locator("header a[href='/account/']").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_role("table", name="Your signed-in sessions")).to_contain_text(
        "this one"
    )
    assert fits_the_width(page)
    page.get_by_role("link", name="Set up two-factor authentication").click()
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    expect(qr).to_be_visible()
    # The picture loads (an SVG the desk drew), not a broken image. Asked through
    # the element, not wait_for_function: its string predicate is an eval, which
    # the page's policy refuses.
    expect(qr).to_have_js_property("complete", True)
    assert qr.evaluate("image => image.naturalWidth") > 0
    assert fits_the_width(page)
    device = TOTPDevice.objects.get(user=tech_agent, confirmed=False)
    page.get_by_label("Enter the six-digit code the app shows").fill(app_code(device))
    page.get_by_role("button", name="Confirm").click()
    codes = page.get_by_role("list", name="Recovery codes").locator("li")
    expect(codes).to_have_count(10)
    assert fits_the_width(page)

    page.context.clear_cookies()
    page.goto(f"{desk_server.url}/login/")
    page.get_by_label("Username").fill("tom")
    page.get_by_label("Password").fill("pass")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(app_code(device, steps_ahead=1))
    assert fits_the_width(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{desk_server.url}/queue/")
