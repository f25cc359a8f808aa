"""The supervisors' intake alert and review page on a phone in dark mode."""

import time

import pytest
from playwright.sync_api import expect

from channels_app.ingest import receive_inbound
from channels_app.models import InboundRecord
from tests.browser.conftest import UI_TIMEOUT_MS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

PHONE = {"width": 360, "height": 740}


def failed_record() -> InboundRecord:
    """A payload no adapter can parse, failed by the module's worker."""
    record, _ = receive_inbound(channel="api", payload=b"{not json")
    deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
    while record.status != InboundRecord.Status.FAILED:
        assert time.monotonic() < deadline, f"still {record.status}"
        time.sleep(0.1)
        record.refresh_from_db()
    return record


def test_a_supervisor_sees_the_alert_and_replays_on_a_phone_in_dark_mode(
    browser, desk_server, teams, supervisor
):
    record = failed_record()
    context = browser.new_context(viewport=PHONE, color_scheme="dark")
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(f"{desk_server.url}/login/")
        page.fill("input[name=username]", supervisor.username)
        page.fill("input[name=password]", "pass")
        page.click("button[type=submit]")
        page.wait_for_url(f"{desk_server.url}/queue/")

        page.goto(f"{desk_server.url}/supervisor/teams/")
        alert = page.locator("#intake-alert")
        expect(alert).to_have_text("Intake: 1 failed. Review")
        assert _fits(page)
        colours = alert.evaluate(
            "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
        )
        assert colours[0] != colours[1]

        alert.get_by_role("link", name="Review").click()
        page.wait_for_url(f"{desk_server.url}/supervisor/intake/")
        row = page.locator(f"tr[data-record='{record.pk}']")
        expect(row).to_be_visible()
        expect(row.locator("td[data-label=Status]")).to_have_text("Failed")
        expect(row.locator("td[data-label=Error]")).not_to_be_empty()
        replay = page.get_by_role("button", name=f"Replay record #{record.pk}")
        box = replay.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert _fits(page)

        replay.click()
        expect(page.locator(".sv-messages")).to_contain_text(
            f"Record #{record.pk} failed again"
        )
    finally:
        context.close()


def _fits(page) -> bool:
    """Nothing on the page is wider than the screen."""
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
