import pytest
from django.utils import timezone

from customers.models import Customer
from tests.bench.pages import busiest_team
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_the_measured_team_is_the_busiest_of_the_seeded_tickets(teams):
    """Tickets opened by earlier bench runs, which pile up on one team, do not
    change whose queue is measured."""
    customer = Customer.objects.create(display_name="Ada")

    def open_tickets(team, count):
        return [
            Ticket.objects.create(
                customer=customer, team=team, routed_at=timezone.now(), subject="Hi"
            )
            for _ in range(count)
        ]

    seeded = open_tickets(teams["billing"], 2) + open_tickets(teams["sales"], 1)
    open_tickets(teams["tech"], 4)

    assert busiest_team(seeded_tickets=seeded[-1].pk) == teams["billing"]
    assert busiest_team(seeded_tickets=Ticket.objects.latest("pk").pk) == teams["tech"]
