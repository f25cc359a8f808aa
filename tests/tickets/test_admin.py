import pytest
from django.contrib.admin.sites import site

from channels_app.models import InboundRecord
from customers.models import Customer, CustomerMerge, MergeSuggestion
from tests.factories import AgentFactory, RoutingRuleFactory
from tests.helpers import deliver, message
from tickets.models import Agent, RouteChange, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, teams):
    admin = AgentFactory(
        username="root", role=Agent.Role.ADMIN, is_staff=True, is_superuser=True
    )
    client.force_login(admin)
    return client


def test_every_model_is_listed_and_searchable_in_the_admin(admin_client):
    deliver(message("email", ("email", "ana@example.com"), subject="Refund please"))
    for model in site._registry:
        meta = model._meta
        url = f"/admin/{meta.app_label}/{meta.model_name}/"
        response = admin_client.get(url, {"q": "ana"})
        assert response.status_code == 200, url


def test_a_ticket_reassigned_in_the_admin_records_who_moved_it_and_why(
    admin_client, teams
):
    deliver(message("email", ("email", "ana@example.com")))
    ticket = Ticket.objects.get()

    response = admin_client.post(
        f"/admin/tickets/ticket/{ticket.pk}/change/",
        {
            "subject": ticket.subject,
            "priority": "high",
            "assignee": "",
            "reassign_to": teams["billing"].pk,
            "reason": "It is about an invoice",
            "route_changes-TOTAL_FORMS": "0",
            "route_changes-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.team == teams["billing"]
    change = RouteChange.objects.filter(ticket=ticket).latest("id")
    assert change.from_team == teams["tech"]
    assert change.reason == "It is about an invoice"
    assert change.actor.username == "root"


def test_a_reassignment_without_a_reason_is_refused(admin_client, teams):
    deliver(message("email", ("email", "ana@example.com")))
    ticket = Ticket.objects.get()

    response = admin_client.post(
        f"/admin/tickets/ticket/{ticket.pk}/change/",
        {
            "subject": ticket.subject,
            "priority": "normal",
            "reassign_to": teams["billing"].pk,
            "reason": "",
            "route_changes-TOTAL_FORMS": "0",
            "route_changes-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "Say why the ticket moves." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.team == teams["tech"]


def test_an_assignee_set_in_the_admin_is_checked_and_on_the_timeline(
    admin_client, teams
):
    """The admin assigns through the action: only an agent of the owning team,
    and the change is on the timeline like any other assignment."""
    deliver(message("email", ("email", "ana@example.com")))
    ticket = Ticket.objects.get()
    outsider = AgentFactory(username="bill", teams=[teams["billing"]])
    member = AgentFactory(username="tina", teams=[teams["tech"]])

    def assign(agent):
        return admin_client.post(
            f"/admin/tickets/ticket/{ticket.pk}/change/",
            {
                "subject": ticket.subject,
                "priority": "normal",
                "assignee": agent.pk,
                "route_changes-TOTAL_FORMS": "0",
                "route_changes-INITIAL_FORMS": "0",
            },
            follow=True,
        )

    refused = assign(outsider)
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert "is not in the team that owns this ticket" in refused.content.decode()

    assign(member)
    ticket.refresh_from_db()
    assert ticket.assignee == member
    [assigned] = ticket.events.filter(metadata__assignee_id=member.pk)
    assert assigned.author.username == "root"
    assert assigned.text.startswith("Assigned to ")


def test_pointing_a_rule_at_another_team_can_move_its_open_tickets(admin_client, teams):
    rule = RoutingRuleFactory(
        name="Invoices", team=teams["billing"], keywords=["invoice"]
    )
    deliver(message("email", ("email", "ana@example.com"), subject="invoice copy"))
    ticket = Ticket.objects.get()
    assert ticket.team == teams["billing"]

    admin_client.post(
        f"/admin/tickets/routingrule/{rule.pk}/change/",
        {
            "name": "Invoices",
            "position": rule.position,
            "enabled": "on",
            "team": teams["sales"].pk,
            "channels": "[]",
            "keywords": '["invoice"]',
            "segments": "[]",
            "languages": "[]",
            "reroute_open": "on",
        },
    )

    ticket.refresh_from_db()
    assert ticket.team == teams["sales"]
    assert RouteChange.objects.filter(ticket=ticket, rule=rule).count() == 2


def test_merge_suggestions_are_accepted_and_merges_undone_from_the_admin(
    admin_client,
):
    deliver(message("email", ("email", "a@example.com")))
    deliver(message("sms", ("sms", "+14155552671")))
    deliver(message("email", ("email", "a@example.com"), ("phone", "+14155552671")))
    suggestion = MergeSuggestion.objects.get()

    admin_client.post(
        "/admin/customers/mergesuggestion/",
        {"action": "accept", "_selected_action": [suggestion.pk]},
    )

    assert Customer.objects.filter(merged_into__isnull=True).count() == 1
    merge = CustomerMerge.objects.get()
    admin_client.post(
        "/admin/customers/customermerge/",
        {"action": "undo", "_selected_action": [merge.pk]},
    )
    assert Customer.objects.filter(merged_into__isnull=True).count() == 2


def test_a_failed_inbound_record_is_replayed_from_the_admin(admin_client, settings):
    settings.MAX_MESSAGE_TEXT_CHARS = 10
    record = deliver(message("email", ("email", "a@example.com"), text="x" * 50))
    assert record.status == InboundRecord.Status.FAILED
    listing = admin_client.get(
        "/admin/channels_app/inboundrecord/", {"status": "failed"}
    )
    assert "limit is 10" in listing.content.decode()

    settings.MAX_MESSAGE_TEXT_CHARS = 1000
    admin_client.post(
        "/admin/channels_app/inboundrecord/",
        {"action": "replay", "_selected_action": [record.pk]},
    )

    record.refresh_from_db()
    assert record.status == InboundRecord.Status.PROCESSED
    assert Ticket.objects.count() == 1
