"""/api/v1/customers/, customer-merges/ and merge-suggestions/: who sees which
customer, the timeline's pages, and merges through the supervisors' actions."""

import pytest
from rest_framework.test import APIClient

from customers.models import Customer, CustomerMerge, Identity, MergeSuggestion
from supportdesk.api.tokens import do_issue_api_token
from supportdesk.models import ApiToken
from tests.factories import RoutingRuleFactory
from tests.helpers import deliver, message
from tickets.actions.tickets import do_resolve_ticket
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"
ANA_EMAIL = ("email", "ana@example.com")
ANA_WHATSAPP = ("whatsapp", "14155552671")


def client_for(user, scope: str = ApiToken.Scope.WRITE) -> APIClient:
    _, key = do_issue_api_token(user=user, name="test", scopes=[scope])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def customer_of(kind: str, value: str) -> Customer:
    return Identity.objects.get(kind=kind, value=value).customer


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def ana(teams) -> Customer:
    """Ana writes to Technical support (the default team) by mail."""
    deliver(message("email", ANA_EMAIL, sender_name="Ana Silva", text="Login fails"))
    return customer_of(*ANA_EMAIL)


@pytest.fixture
def bo(teams) -> Customer:
    """Bo's invoice question, which a rule gives to Billing."""
    RoutingRuleFactory(name="Invoices", team=teams["billing"], keywords=["invoice"])
    deliver(
        message(
            "email",
            ("email", "bo@example.com"),
            sender_name="Bo Chen",
            text="My invoice is wrong",
        )
    )
    customer = customer_of("email", "bo@example.com")
    assert customer.tickets.get().team == teams["billing"]
    return customer


@pytest.fixture
def ana_on_whatsapp(teams) -> Customer:
    """The same person on WhatsApp, not known yet to be Ana."""
    deliver(message("whatsapp", ANA_WHATSAPP, sender_name="Ana P", text="Hi again"))
    return customer_of("whatsapp", "+14155552671")


# ------------------------------------------------------------------------ reads


def test_an_agent_lists_the_customers_of_their_teams_and_a_supervisor_all(
    tech_agent, supervisor, ana, bo
):
    assert ids(client_for(tech_agent).get(CUSTOMERS)) == [ana.pk]
    assert ids(client_for(supervisor).get(CUSTOMERS)) == [bo.pk, ana.pk]


def test_search_finds_by_name_and_by_any_identity(supervisor, ana, bo, ana_on_whatsapp):
    client = client_for(supervisor, "read")

    assert ids(client.get(CUSTOMERS, {"q": "bo ch"})) == [bo.pk]
    assert ids(client.get(CUSTOMERS, {"q": "ANA@example"})) == [ana.pk]
    assert ids(client.get(CUSTOMERS, {"q": "+1415555"})) == [ana_on_whatsapp.pk]


def test_a_customer_comes_with_their_identities(tech_agent, ana):
    response = client_for(tech_agent, "read").get(f"{CUSTOMERS}{ana.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["display_name"] == "Ana Silva"
    assert [(i["kind"], i["value"]) for i in body["identities"]] == [
        ("email", "ana@example.com")
    ]


@pytest.mark.parametrize("suffix", ["", "timeline/", "tickets/"])
def test_another_teams_customer_is_not_found(tech_agent, bo, suffix):
    """Bo's only ticket is Billing's: for a tech agent Bo does not exist."""
    response = client_for(tech_agent, "read").get(f"{CUSTOMERS}{bo.pk}/{suffix}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_timeline_pages_return_every_event_once(tech_agent, ana, teams):
    """Events on several channels and tickets, read two at a time, newest first,
    while a new message arrives between two pages."""
    deliver(message("whatsapp", ANA_WHATSAPP, ANA_EMAIL, text="On WhatsApp now"))
    deliver(message("email", ANA_EMAIL, text="A second issue"))
    events = TimelineEvent.objects.filter(customer=ana).order_by("-occurred_at", "-id")
    before = list(events.values_list("id", flat=True))
    client = client_for(tech_agent, "read")
    url = f"{CUSTOMERS}{ana.pk}/timeline/"
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(url, params).json()
        seen += [event["id"] for event in page["results"]]
        assert len(page["results"]) <= 2
        if len(seen) == 2:
            deliver(message("email", ANA_EMAIL, text="Arrived while paging"))
        cursor = page["next"]
        if cursor is None:
            break

    # What arrived meanwhile is newer than the first page: it neither repeats nor
    # shifts the others, and a fresh read starts with it.
    assert seen == before
    assert len(seen) >= 6
    arrived = set(events.values_list("id", flat=True)) - set(before)
    fresh = client.get(url, {"limit": len(arrived)}).json()["results"]
    assert {event["id"] for event in fresh} == arrived
    assert "Arrived while paging" in [event["text"] for event in fresh]


def test_a_cursor_the_desk_did_not_give_is_not_found(tech_agent, ana):
    response = client_for(tech_agent, "read").get(
        f"{CUSTOMERS}{ana.pk}/timeline/", {"cursor": "not-a-cursor"}
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_tickets_list_open_ones_first_with_resolution_notes(tech_agent, ana):
    solved = Ticket.objects.get(customer=ana)
    do_resolve_ticket(
        ticket=solved, actor=tech_agent, resolution_note="Reset the password."
    )
    deliver(message("email", ANA_EMAIL, text="Now the export fails"))
    current = Ticket.objects.exclude(pk=solved.pk).get(customer=ana)

    response = client_for(tech_agent, "read").get(f"{CUSTOMERS}{ana.pk}/tickets/")

    assert response.status_code == 200
    body = response.json()
    assert ids(response) == [current.pk, solved.pk]
    assert body["results"][1]["resolution_note"] == "Reset the password."
    assert body["results"][1]["status"] == "resolved"
    assert body["more"] is False
    assert (
        client_for(tech_agent)
        .get(f"{CUSTOMERS}{ana.pk}/tickets/", {"limit": 1})
        .json()["more"]
    )


# ----------------------------------------------------------------------- merges


def test_a_supervisor_merges_a_customer_into_another_and_undoes_it(
    supervisor, ana, ana_on_whatsapp
):
    client = client_for(supervisor)

    moved = ana_on_whatsapp.identities.count()

    response = client.post(
        f"{CUSTOMERS}{ana.pk}/merge/",
        {"other_customer": ana_on_whatsapp.pk, "reason": "Same person"},
        format="json",
    )

    assert response.status_code == 201
    merge = response.json()
    assert (merge["source"]["id"], merge["target"]["id"]) == (
        ana_on_whatsapp.pk,
        ana.pk,
    )
    assert merge["moved_identities"] == moved
    assert customer_of("whatsapp", "+14155552671") == ana
    assert client.get(f"{CUSTOMERS}{ana_on_whatsapp.pk}/").status_code == 404

    undone = client.post(f"/api/v1/customer-merges/{merge['id']}/undo/")

    assert undone.status_code == 200
    assert undone.json()["undone_at"] is not None
    assert customer_of("whatsapp", "+14155552671") == ana_on_whatsapp
    again = client.post(f"/api/v1/customer-merges/{merge['id']}/undo/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_a_merge_body_cannot_carry_other_fields(supervisor, ana, ana_on_whatsapp):
    response = client_for(supervisor).post(
        f"{CUSTOMERS}{ana.pk}/merge/",
        {"other_customer": ana_on_whatsapp.pk, "actor": 1},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"actor": ["Unknown field."]}
    assert not CustomerMerge.objects.exists()


def test_a_customer_cannot_be_merged_into_itself(supervisor, ana):
    response = client_for(supervisor).post(
        f"{CUSTOMERS}{ana.pk}/merge/", {"other_customer": ana.pk}, format="json"
    )

    assert response.status_code == 400
    assert "other_customer" in response.json()["error"]["fields"]


def test_merging_needs_a_supervisor_and_the_write_scope(
    tech_agent, supervisor, ana, ana_on_whatsapp
):
    url = f"{CUSTOMERS}{ana.pk}/merge/"
    body = {"other_customer": ana_on_whatsapp.pk}

    by_agent = client_for(tech_agent).post(url, body, format="json")
    by_read_token = client_for(supervisor, "read").post(url, body, format="json")

    assert by_agent.status_code == 403
    assert by_read_token.status_code == 403
    assert by_read_token.json()["error"]["code"] == "permission_denied"
    assert not CustomerMerge.objects.exists()
    assert client_for(tech_agent).get("/api/v1/customer-merges/").status_code == 403


# ------------------------------------------------------------------ suggestions


@pytest.fixture
def suggestion(ana, ana_on_whatsapp) -> MergeSuggestion:
    """One message carried both Ana's WhatsApp number and her email address."""
    deliver(message("whatsapp", ANA_WHATSAPP, ANA_EMAIL, text="It's me, Ana"))
    return MergeSuggestion.objects.get()


def test_supervisors_list_suggestions_and_accept_one(supervisor, suggestion):
    client = client_for(supervisor)

    listed = client.get("/api/v1/merge-suggestions/", {"status": "pending"})
    accepted = client.post(f"/api/v1/merge-suggestions/{suggestion.pk}/accept/")

    assert ids(listed) == [suggestion.pk]
    assert accepted.status_code == 200
    assert accepted.json()["target"]["id"] == suggestion.customer_id
    assert Customer.objects.get(pk=suggestion.other_id).merged_into_id == (
        suggestion.customer_id
    )
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.decided_by) == ("accepted", supervisor)
    assert ids(client.get("/api/v1/merge-suggestions/", {"status": "pending"})) == []
    twice = client.post(f"/api/v1/merge-suggestions/{suggestion.pk}/dismiss/")
    assert twice.status_code == 409


def test_a_dismissed_suggestion_leaves_two_customers(supervisor, suggestion):
    response = client_for(supervisor).post(
        f"/api/v1/merge-suggestions/{suggestion.pk}/dismiss/"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert not CustomerMerge.objects.exists()


def test_agents_and_read_tokens_cannot_decide_a_suggestion(
    tech_agent, supervisor, suggestion
):
    url = f"/api/v1/merge-suggestions/{suggestion.pk}/accept/"

    assert client_for(tech_agent).get("/api/v1/merge-suggestions/").status_code == 403
    assert client_for(tech_agent).post(url).status_code == 403
    assert client_for(supervisor, "read").post(url).status_code == 403
    suggestion.refresh_from_db()
    assert suggestion.status == "pending"
