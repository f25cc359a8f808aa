from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.adapters.email import EmailAdapter
from tests.helpers import deliver, message
from tickets.models import TimelineEvent
from tickets.windows import reply_window_open, reply_window_refusal

pytestmark = pytest.mark.django_db

ANA_WHATSAPP = ("whatsapp", "14155552671")
ANA_EMAIL = ("email", "ana@example.com")


class HourWindowEmailAdapter(EmailAdapter):
    """Mail as a provider with a one-hour window would have it."""

    reply_window_hours = 1
    after_the_window = "wait for the customer"


def ticket_after(channel: str, *claims, hours_ago: float, **fields):
    record = deliver(
        message(
            channel,
            *claims,
            occurred_at=timezone.now() - timedelta(hours=hours_ago),
            **fields,
        )
    )
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def test_the_window_is_open_for_a_day_after_the_customer_last_wrote(teams):
    recent = ticket_after("whatsapp", ANA_WHATSAPP, hours_ago=23.9)

    assert reply_window_open(recent, "whatsapp")
    assert reply_window_refusal(recent, "whatsapp") == ""


def test_the_window_closes_a_day_after_the_customer_last_wrote(teams):
    old = ticket_after("whatsapp", ANA_WHATSAPP, hours_ago=24.1)

    assert not reply_window_open(old, "whatsapp")
    assert reply_window_refusal(old, "whatsapp") == (
        "outside the 24-hour window: only a template can be sent"
    )


def test_a_later_message_on_another_ticket_of_the_customer_reopens_it(teams):
    old = ticket_after("whatsapp", ANA_WHATSAPP, hours_ago=100)
    ticket_after("whatsapp", ANA_WHATSAPP, hours_ago=1, conversation_key="other")

    assert reply_window_open(old, "whatsapp")


def test_messages_on_other_channels_do_not_open_it(teams):
    ticket = ticket_after("whatsapp", ANA_WHATSAPP, ANA_EMAIL, hours_ago=30)
    ticket_after("email", ANA_EMAIL, hours_ago=0.1)

    assert not reply_window_open(ticket, "whatsapp")


def test_a_customer_who_never_wrote_on_the_channel_is_outside_it(teams):
    ticket = ticket_after("email", ANA_EMAIL, hours_ago=0.1)

    assert not reply_window_open(ticket, "messenger")
    assert reply_window_refusal(ticket, "messenger") == (
        "outside the 24-hour window: the customer has to write again first"
    )


def test_channels_without_a_window_are_always_open(teams):
    ticket = ticket_after("email", ANA_EMAIL, hours_ago=1000)

    assert reply_window_open(ticket, "email")
    assert reply_window_refusal(ticket, "email") == ""


def test_the_window_is_the_one_the_channels_adapter_declares(teams, settings):
    ticket = ticket_after("email", ANA_EMAIL, hours_ago=2)

    settings.CHANNEL_ADAPTERS = {
        **settings.CHANNEL_ADAPTERS,
        "email": "tests.tickets.test_windows.HourWindowEmailAdapter",
    }

    assert not reply_window_open(ticket, "email")
    assert reply_window_refusal(ticket, "email") == (
        "outside the 1-hour window: wait for the customer"
    )
