import pytest

from channels_app.models import InboundRecord
from tests.helpers import deliver, message
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db


def test_a_first_message_opens_a_ticket_routed_to_the_default_team(teams):
    record = deliver(message("whatsapp", ("whatsapp", "14155552671"), text="My router"))

    assert record.status == InboundRecord.Status.PROCESSED
    ticket = Ticket.objects.get()
    assert ticket.team == teams["tech"]
    assert ticket.events.filter(kind="message_in").get().text == "My router"


def test_the_same_message_delivered_twice_is_stored_once(teams):
    first = message("whatsapp", ("whatsapp", "14155552671"), external_id="wamid.A")
    deliver(first)
    deliver(first)

    assert TimelineEvent.objects.filter(external_id="wamid.A").count() == 1
    assert InboundRecord.objects.count() == 1
