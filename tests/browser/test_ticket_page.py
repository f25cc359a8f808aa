"""The ticket page in a real browser: the whole cross-channel history, a reply that
leaves by mail, and agents who see each other on the same ticket."""

import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.browser.conftest import save_docs_screenshot, wait_until_live
from tests.factories import AgentFactory
from tests.helpers import deliver, message
from tests.smtp_server import SmtpServer
from tickets.actions.tickets import do_resolve_ticket
from tickets.models import Ticket, TimelineEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

ANA_EMAIL = ("email", "ana@example.com")
SCREENSHOT = Path(settings.BASE_DIR) / "docs" / "ticket.png"
MAIL_TIMEOUT_SECONDS = 20


@pytest.fixture(scope="module", autouse=True)
def mail_server():
    """An SMTP server that the module's worker (started after this, with this
    process's environment) sends the desk's mail to."""
    server = SmtpServer().start()
    saved = os.environ.get("EMAIL_URL")
    os.environ["EMAIL_URL"] = server.url
    yield server
    if saved is None:
        os.environ.pop("EMAIL_URL", None)
    else:
        os.environ["EMAIL_URL"] = saved
    server.stop()


def opened(msg) -> Ticket:
    record = deliver(msg)
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


@pytest.fixture
def ticket(teams, tech_agent) -> Ticket:
    """Ana's mail about her login; before it, a double charge on WhatsApp that
    was refunded, and a hello on Telegram."""
    earlier = opened(
        message(
            "whatsapp",
            ("whatsapp", "14155552671"),
            ANA_EMAIL,
            sender_name="Ana Silva",
            text="My card was charged twice",
        )
    )
    do_resolve_ticket(
        ticket=earlier,
        actor=tech_agent,
        resolution_note="Refunded the duplicate charge.",
    )
    deliver(
        message("telegram", ("telegram", "5550001"), ANA_EMAIL, text="Hi on Telegram")
    )
    return opened(
        message(
            "email",
            ANA_EMAIL,
            sender_name="Ana Silva",
            subject="Login fails",
            text="I cannot log in since this morning.",
        )
    )


def open_ticket(page, desk_server, ticket: Ticket):
    page.goto(f"{desk_server.url}/tickets/{ticket.pk}/")
    wait_until_live(page)
    return page


def mail_to(server: SmtpServer, address: str):
    deadline = time.monotonic() + MAIL_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for mail in server.received:
            if address in mail.recipients:
                return mail
        time.sleep(0.1)
    pytest.fail(f"no mail reached {address} in {MAIL_TIMEOUT_SECONDS}s")


def test_an_agent_sees_the_whole_history_and_replies_by_mail(
    page, desk_server, ticket, mail_server
):
    open_ticket(page, desk_server, ticket)

    identities = page.locator(".identities")
    for value in ("ana@example.com", "+14155552671", "5550001"):
        expect(identities).to_contain_text(value)
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("I cannot log in since this morning.")
    expect(timeline).to_contain_text("Hi on Telegram")
    expect(timeline).to_contain_text("My card was charged twice")
    for channel in ("email", "telegram", "whatsapp"):
        expect(timeline.locator(f".badge.ch-{channel}").first).to_be_visible()
    expect(page.locator(".earlier-ticket .resolution")).to_contain_text(
        "Refunded the duplicate charge."
    )

    page.keyboard.press("r")
    reply_box = page.locator("#reply-text")
    expect(reply_box).to_be_focused()
    expect(page.locator("#reply-channel")).to_have_value("email")
    reply_box.fill("Please try the reset link we just sent.")
    page.locator("#reply-box button[type=submit]").click()

    expect(page.locator("#reply-box .notice")).to_have_text("Reply queued on Email.")
    expect(timeline.locator("li").first).to_contain_text(
        "Please try the reset link we just sent."
    )
    mail = mail_to(mail_server, "ana@example.com")
    assert "Please try the reset link we just sent." in mail.message.get_content()
    save_docs_screenshot(page, SCREENSHOT)


def test_two_agents_on_one_ticket_see_each_other(
    open_page, desk_server, ticket, tech_agent, teams
):
    tess = AgentFactory(username="tess", first_name="Tess", teams=[teams["tech"]])
    first = open_ticket(open_page(tech_agent), desk_server, ticket)
    second = open_ticket(open_page(tess), desk_server, ticket)

    expect(first.locator("#presence")).to_contain_text("Tess is viewing")
    expect(second.locator("#presence")).to_contain_text(
        f"{tech_agent.get_full_name()} is viewing"
    )

    second.locator("#reply-text").fill("Hello Ana")
    expect(first.locator("#presence")).to_contain_text("Tess is typing")

    second.close()
    expect(first.locator("#presence")).to_be_hidden()


def test_opening_a_ticket_sends_one_watch(ticket, page, desk_server):
    """The page announces its watcher once, so colleagues never see a "left"."""
    sent, received = [], []

    def record(socket):
        socket.on("framesent", lambda frame: sent.append(frame))
        socket.on("framereceived", lambda frame: received.append(frame))

    page.on("websocket", record)
    open_ticket(page, desk_server, ticket)

    deadline = time.monotonic() + MAIL_TIMEOUT_SECONDS
    while not any('"watching"' in str(frame) for frame in received):
        assert time.monotonic() < deadline, "the server never confirmed the watch"
        page.wait_for_timeout(100)
    watches = [frame for frame in sent if '"watch_ticket"' in str(frame)]
    assert len(watches) == 1, watches


def test_an_agent_of_another_team_gets_a_404(open_page, desk_server, ticket, teams):
    outsider = AgentFactory(username="bo", teams=[teams["billing"]])
    page = open_page(outsider)

    response = page.goto(f"{desk_server.url}/tickets/{ticket.pk}/")

    assert response.status == 404
