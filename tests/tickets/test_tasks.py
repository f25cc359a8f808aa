import time
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from channels_app.adapters.memory import outbox, recording
from channels_app.ingest import submit_message
from channels_app.models import InboundRecord
from supportdesk.celery import app
from tests.factories import RoutingRuleFactory, TeamFactory
from tests.helpers import deliver, deliver_without_routing, message
from tickets.actions.tickets import do_reply
from tickets.models import RouteChange, Ticket, TimelineEvent
from tickets.tasks import route_ticket, sweep_unrouted, sweep_unsent_replies

pytestmark = pytest.mark.django_db


def created_ago(ticket: Ticket, seconds: int) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


def sweep() -> int:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return sweep_unrouted()


# ----------------------------------------------------------------------- sweep


def test_the_sweep_routes_a_ticket_whose_route_task_never_ran(teams, settings):
    settings.ROUTING_SWEEP_AFTER_SECONDS = 60
    rule = RoutingRuleFactory(team=teams["billing"], keywords=["invoice"])
    stranded = deliver_without_routing(message("email", text="Wrong invoice"))
    created_ago(stranded, 61)

    assert sweep() == 1

    stranded.refresh_from_db()
    assert (stranded.team, stranded.routed_by_rule) == (teams["billing"], rule)
    change = RouteChange.objects.get(ticket=stranded)
    assert (change.to_team, change.rule) == (teams["billing"], rule)


def test_the_sweep_leaves_tickets_younger_than_the_grace_period(teams, settings):
    settings.ROUTING_SWEEP_AFTER_SECONDS = 60
    young = deliver_without_routing(message("email", ("email", "a@example.com")))
    old = deliver_without_routing(message("email", ("email", "b@example.com")))
    created_ago(young, 50)
    created_ago(old, 70)

    assert sweep() == 1

    young.refresh_from_db()
    old.refresh_from_db()
    assert young.routed_at is None
    assert old.team == teams["tech"]
    assert not RouteChange.objects.filter(ticket=young).exists()


def test_the_sweep_routes_a_ticket_left_unrouted_once_a_team_exists(db, settings):
    settings.ROUTING_SWEEP_AFTER_SECONDS = 0
    ticket = deliver_without_routing(message("email"))

    assert sweep() == 0
    TeamFactory(name="Frontline")
    assert sweep() == 1
    assert sweep() == 0

    ticket.refresh_from_db()
    assert ticket.team.name == "Frontline"
    assert RouteChange.objects.filter(ticket=ticket).count() == 1


def test_the_sweep_leaves_routed_tickets_alone(teams, settings, supervisor):
    settings.ROUTING_SWEEP_AFTER_SECONDS = 0
    ticket = deliver_without_routing(message("email"))
    route_ticket(ticket.pk)

    assert sweep() == 0

    assert RouteChange.objects.filter(ticket=ticket).count() == 1


def test_the_route_task_returns_the_team_once_then_nothing(teams):
    ticket = deliver_without_routing(message("email"))

    assert route_ticket(ticket.pk) == teams["tech"].pk
    assert route_ticket(ticket.pk) is None


def test_a_task_lost_with_its_worker_goes_back_on_the_queue():
    # Acknowledged only after it ran, and rejected (re-queued) when the worker dies.
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert route_ticket.acks_late is True
    assert route_ticket.reject_on_worker_lost is True
    assert "tickets.sweep_unrouted" in {
        entry["task"] for entry in app.conf.beat_schedule.values()
    }


# ------------------------------------------------------- replies never sent


class DiesWhileSending(recording("channels_app.adapters.chat.ChatAdapter")):
    """Hands the reply over, then its process dies before the outcome is kept."""

    def send(self, message, *, inbox=None):
        super().send(message, inbox=inbox)
        raise SystemExit("killed mid-send")


@pytest.fixture
def chat_ticket(teams, settings) -> Ticket:
    settings.CHANNEL_ADAPTERS = {
        **settings.CHANNEL_ADAPTERS,
        "chat": recording(settings.CHANNEL_ADAPTERS["chat"]),
    }
    deliver(message("chat", ("web", "visitor-1"), text="Is anyone there?"))
    return Ticket.objects.get()


def reply_with_task_lost(ticket: Ticket, agent, text: str) -> TimelineEvent:
    """A reply stored while its send task could not be queued (the broker down)."""
    with TestCase.captureOnCommitCallbacks(execute=False):
        return do_reply(ticket=ticket, author=agent, text=text)


def stored_ago(event: TimelineEvent, seconds: int) -> None:
    TimelineEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_the_sweep_sends_a_reply_whose_send_task_was_lost(
    chat_ticket, tech_agent, settings
):
    settings.OUTBOUND_SWEEP_AFTER_SECONDS = 60
    lost = reply_with_task_lost(chat_ticket, tech_agent, "Yes, hello!")
    young = reply_with_task_lost(chat_ticket, tech_agent, "One moment.")
    stored_ago(lost, 61)
    stored_ago(young, 30)

    assert sweep_unsent_replies() == 1
    assert sweep_unsent_replies() == 0

    assert [sent.text for sent in outbox] == ["Yes, hello!"]
    lost.refresh_from_db()
    young.refresh_from_db()
    assert lost.delivery_status == TimelineEvent.Delivery.SENT
    assert lost.external_id.startswith("memory-")
    assert young.delivery_status == TimelineEvent.Delivery.QUEUED


def test_the_sweep_never_sends_again_a_reply_whose_sender_died_mid_send(
    chat_ticket, tech_agent, settings
):
    """The provider may have the reply already: sending it again could show the
    customer the same message twice, so it stays queued for an agent to judge."""
    settings.OUTBOUND_SWEEP_AFTER_SECONDS = 0
    settings.CHANNEL_ADAPTERS = {**settings.CHANNEL_ADAPTERS, "chat": DiesWhileSending}
    with (
        pytest.raises(SystemExit),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        event = do_reply(ticket=chat_ticket, author=tech_agent, text="Yes, hello!")
    event.refresh_from_db()
    assert event.delivery_status == TimelineEvent.Delivery.QUEUED

    assert sweep_unsent_replies() == 0

    assert [sent.text for sent in outbox] == ["Yes, hello!"]


def test_unsent_replies_are_swept_by_beat():
    assert "tickets.sweep_unsent_replies" in {
        entry["task"] for entry in app.conf.beat_schedule.values()
    }


# ------------------------------------------------------------ with a real worker


def wait_for(condition, *, timeout: float = 30.0, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_ingests_a_message_and_routes_its_ticket(desk_worker):
    billing = TeamFactory(name="Billing", slug="billing")
    TeamFactory(name="Technical support", slug="tech", is_default=True)
    rule = RoutingRuleFactory(team=billing, keywords=["invoice"])

    record, created = submit_message(
        message("email", subject="Invoice 2024-117", text="It is charged twice.")
    )

    assert created
    record = wait_for(
        lambda: InboundRecord.objects.filter(
            pk=record.pk, status=InboundRecord.Status.PROCESSED
        ).first(),
        what="the worker to process the inbound record",
    )
    ticket = wait_for(
        lambda: Ticket.objects.filter(
            events__id=record.event_ids[0], routed_at__isnull=False
        ).first(),
        what="the worker to route the ticket",
    )
    assert (ticket.team, ticket.routed_by_rule) == (billing, rule)
    assert RouteChange.objects.filter(ticket=ticket).count() == 1


def test_the_outcome_of_a_send_is_published_to_the_ticket(
    teams, tech_agent, published, settings
):
    """Agents watching the ticket see their reply turn from queued to sent."""
    settings.CHANNEL_ADAPTERS = {
        **settings.CHANNEL_ADAPTERS,
        "chat": recording(settings.CHANNEL_ADAPTERS["chat"]),
    }
    deliver(message("chat", ("web", "visitor-1"), text="Is anyone there?"))
    ticket = Ticket.objects.get()
    with TestCase.captureOnCommitCallbacks(execute=True):
        event = do_reply(ticket=ticket, author=tech_agent, text="Yes, hello!")

    statuses = [
        sent["delivery_status"]
        for group, sent in published
        if group == f"ticket.{ticket.pk}" and sent.get("event_id") == event.pk
    ]
    assert statuses == ["queued", "sent"]
