import pytest
from django.test import TestCase

from tests.helpers import deliver, message
from tickets.actions.templates import do_send_template
from tickets.actions.tickets import TicketActionError
from tickets.models import Ticket, TicketStatus, TimelineEvent
from tickets.tasks import send_outbound

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(teams) -> Ticket:
    record = deliver(message("whatsapp", ("whatsapp", "14155552671"), text="Hi"))
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def send(ticket, agent, **fields):
    fields = {"template_name": "order_update", "language": "en_US", **fields}
    return do_send_template(ticket=ticket, author=agent, **fields)


def test_a_template_is_stored_queued_and_its_send_task_waits_for_commit(
    ticket, tech_agent
):
    with TestCase.captureOnCommitCallbacks(execute=False) as after_commit:
        event = send(ticket, tech_agent, parameters=[" Ana ", "#4411"])

    # enqueue_on_commit's callbacks carry the task and its ids.
    queued = [cb.args[1] for cb in after_commit if cb.args[:1] == (send_outbound,)]
    assert queued == [(event.pk,)]
    assert (event.kind, event.channel, event.delivery_status) == (
        "message_out",
        "whatsapp",
        "queued",
    )
    assert event.text == "Template order_update (en_US): Ana | #4411"
    assert event.metadata["template"] == {
        "name": "order_update",
        "language": "en_US",
        "parameters": ["Ana", "#4411"],
    }
    ticket.refresh_from_db()
    assert ticket.first_response_at == event.occurred_at
    assert ticket.status == TicketStatus.OPEN


@pytest.mark.parametrize(
    "fields",
    [
        {"template_name": "Order Update"},
        {"template_name": ""},
        {"language": "english"},
        {"parameters": ["Ana", "  "]},
        {"parameters": ["x" * 1025]},
        {"channel": "messenger"},
        {"channel": "email"},
    ],
    ids=[
        "name-case",
        "no-name",
        "language",
        "blank-parameter",
        "long-parameter",
        "messenger",
        "email",
    ],
)
def test_a_bad_template_or_a_channel_without_templates_is_refused(
    fields, ticket, tech_agent
):
    with pytest.raises(TicketActionError):
        send(ticket, tech_agent, **fields)

    assert not ticket.events.filter(kind="message_out").exists()


def test_a_customer_without_whatsapp_cannot_get_a_template(teams, tech_agent):
    record = deliver(message("email", subject="Hello", text="Hi"))
    ticket = TimelineEvent.objects.get(pk=record.event_ids[0]).ticket

    with pytest.raises(TicketActionError, match="no identity to reach on whatsapp"):
        send(ticket, tech_agent)
