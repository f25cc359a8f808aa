import pytest

from customers.models import Customer
from tests.helpers import deliver, message
from tickets.actions.profiles import do_update_customer_profile
from tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(teams) -> Customer:
    deliver(message("email", ("email", "priya@example.com")))
    return Customer.objects.get()


def test_a_new_segment_and_tags_are_saved_and_recorded_on_the_timeline(
    customer, supervisor
):
    do_update_customer_profile(
        customer=customer,
        actor=supervisor,
        segment=" enterprise ",
        tags=["key-account", " key-account", ""],
    )

    customer.refresh_from_db()
    assert (customer.segment, customer.tags) == ("enterprise", ["key-account"])
    event = customer.timeline.get(kind=TimelineEvent.Kind.SYSTEM)
    assert event.author == supervisor
    assert "enterprise" in event.text and "key-account" in event.text


def test_an_unchanged_profile_writes_nothing(customer):
    do_update_customer_profile(customer=customer, segment="smb", tags=["vip"])
    events = customer.timeline.count()

    do_update_customer_profile(customer=customer, segment="smb", tags=["vip"])

    assert customer.timeline.count() == events


def test_a_field_given_as_none_keeps_its_value(customer):
    do_update_customer_profile(customer=customer, segment="smb", tags=["vip"])

    do_update_customer_profile(customer=customer, tags=["churn-risk"])

    customer.refresh_from_db()
    assert (customer.segment, customer.tags) == ("smb", ["churn-risk"])
