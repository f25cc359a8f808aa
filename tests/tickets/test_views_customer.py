import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from tests.helpers import deliver, message

pytestmark = pytest.mark.django_db


def _customer_with_events(count: int, email: str) -> Customer:
    for n in range(count):
        deliver(
            message(
                "chat",
                ("email", email),
                text=f"chat line {n}",
                conversation_key="session-1",
            )
        )
    return Customer.objects.get(identities__value=email)


def test_the_timeline_needs_a_sign_in(client, teams):
    """Anonymous visitors of a customer's timeline are sent to the sign-in page."""
    customer = _customer_with_events(1, "ana@example.com")

    response = client.get(f"/customers/{customer.pk}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_timeline_shows_every_channel_of_the_customer(client, supervisor, teams):
    """One timeline holds what the customer said on each of their channels."""
    deliver(
        message(
            "whatsapp",
            ("whatsapp", "14155552671"),
            ("email", "many@example.com"),
            sender_name="Many Channels",
            text="WhatsApp hello",
        )
    )
    deliver(message("email", ("email", "many@example.com"), text="Mail hello"))
    customer = Customer.objects.get(identities__value="many@example.com")
    client.force_login(supervisor)

    page = client.get(f"/customers/{customer.pk}/").content.decode()

    assert "Many Channels" in page
    assert "WhatsApp hello" in page and "Mail hello" in page
    assert "ch-whatsapp" in page and "ch-email" in page


def test_an_agent_of_the_owning_team_sees_the_timeline(client, tech_agent):
    customer = _customer_with_events(2, "ana@example.com")
    client.force_login(tech_agent)

    response = client.get(f"/customers/{customer.pk}/")

    assert response.status_code == 200
    assert "chat line 1" in response.content.decode()


def test_an_agent_of_another_team_gets_a_404(client, billing_agent, teams):
    customer = _customer_with_events(1, "ana@example.com")
    client.force_login(billing_agent)

    assert client.get(f"/customers/{customer.pk}/").status_code == 404


def test_customer_text_is_escaped_on_the_page(client, supervisor, teams):
    deliver(
        message("chat", ("email", "x@example.com"), text="<script>alert(1)</script>")
    )
    client.force_login(supervisor)
    customer = Customer.objects.get()

    page = client.get(f"/customers/{customer.pk}/").content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_older_events_page_by_cursor_and_a_forged_cursor_is_a_404(
    client, supervisor, teams, settings
):
    settings.TIMELINE_PAGE_SIZE = 5
    customer = _customer_with_events(7, "ana@example.com")
    client.force_login(supervisor)

    first = client.get(f"/customers/{customer.pk}/")
    cursor = first.context["page"].next_cursor
    second = client.get(f"/customers/{customer.pk}/", {"cursor": cursor})

    first_ids = [e.pk for e in first.context["page"].events]
    second_ids = [e.pk for e in second.context["page"].events]
    assert len(first_ids) == 5
    assert not set(first_ids) & set(second_ids)
    assert second.context["page"].next_cursor is None
    forged = client.get(f"/customers/{customer.pk}/", {"cursor": "bm90LWEtY3Vyc29y"})
    assert forged.status_code == 404


def test_the_timeline_page_costs_the_same_queries_at_any_size(
    client, supervisor, teams, settings
):
    """Query count does not grow with events, tickets or attachments shown."""
    settings.TIMELINE_PAGE_SIZE = 50
    small = _customer_with_events(3, "small@example.com")
    large = _customer_with_events(40, "large@example.com")
    for n in range(4):
        deliver(message("email", ("email", "large@example.com"), subject=f"Mail {n}"))
    client.force_login(supervisor)

    def count(customer: Customer) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/customers/{customer.pk}/").status_code == 200
        return len(queries)

    assert count(small) == count(large)
