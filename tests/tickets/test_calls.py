import pytest
from django.test import Client, TestCase
from rest_framework.test import APIClient

from customers.identities import InvalidIdentityError
from customers.models import Customer, Identity, MergeSuggestion
from tests.helpers import deliver, message
from tickets.actions.calls import CallLogError, do_log_call
from tickets.actions.tickets import do_reply
from tickets.calls import call_summary, format_duration
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

NUMBER = "+14155552671"
API = "/api/v1/calls/"
PAGE = "/calls/new/"


@pytest.fixture
def email_ticket(teams) -> Ticket:
    """Ana's ticket, opened by mail and routed to Billing."""
    deliver(
        message(
            "email", ("email", "ana@example.com"), text="Refund for the invoice please"
        )
    )
    ticket = Ticket.objects.get()
    assert ticket.team == teams["billing"]
    return ticket


@pytest.fixture
def billing_rule(teams):
    from tests.factories import RoutingRuleFactory

    return RoutingRuleFactory(team=teams["billing"], keywords=["invoice"])


def log(**fields) -> TimelineEvent:
    fields = {
        "direction": "inbound",
        "number": NUMBER,
        "duration_seconds": 0,
        "outcome": "missed",
        "note": "",
        **fields,
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        return do_log_call(**fields)


# --------------------------------------------------------------------- words


@pytest.mark.parametrize(
    "seconds, words",
    [
        (0, "0 s"),
        (45, "45 s"),
        (192, "3 min 12 s"),
        (3600, "1 h"),
        (3725, "1 h 2 min 5 s"),
    ],
)
def test_durations_read_as_hours_minutes_and_seconds(seconds, words):
    assert format_duration(seconds) == words


def test_a_call_summary_names_direction_outcome_duration_and_recording():
    assert call_summary(direction="inbound", outcome="missed") == "Missed call"
    assert (
        call_summary(
            direction="outbound",
            outcome="answered",
            duration_seconds=75,
            recording_url="https://rec.example/1",
        )
        == "Outbound call, answered, 1 min 15 s\nRecording: https://rec.example/1"
    )


# ------------------------------------------------------------------- the action


def test_a_call_linked_to_a_ticket_joins_it_and_its_number_joins_the_customer(
    billing_rule, email_ticket, billing_agent
):
    call = log(
        author=billing_agent,
        ticket=email_ticket,
        number="(415) 555-2671",
        outcome="answered",
        duration_seconds=192,
        note="Explained the refund.",
    )

    assert (call.kind, call.channel, call.ticket) == ("call", "phone", email_ticket)
    assert call.author == billing_agent
    assert call.text == "Answered call, 3 min 12 s\n\nExplained the refund."
    assert call.metadata == {
        "source": "agent",
        "direction": "inbound",
        "number": NUMBER,
        "duration_seconds": 192,
        "outcome": "answered",
        "note": "Explained the refund.",
    }
    phone = Identity.objects.get(kind="phone")
    assert (phone.value, phone.customer) == (NUMBER, email_ticket.customer)
    assert call.sender_identity == phone
    email_ticket.refresh_from_db()
    assert email_ticket.first_response_at == call.occurred_at
    assert email_ticket.status == "open"


def test_a_missed_call_is_not_a_response(billing_rule, email_ticket, billing_agent):
    log(author=billing_agent, ticket=email_ticket, outcome="missed")

    email_ticket.refresh_from_db()
    assert email_ticket.first_response_at is None
    assert email_ticket.status == "new"


def test_a_call_without_a_ticket_opens_a_routed_phone_ticket(teams, tech_agent):
    call = log(author=tech_agent, direction="outbound", outcome="voicemail")

    ticket = Ticket.objects.get(pk=call.ticket_id)
    assert (ticket.channel, ticket.subject) == ("phone", f"Call to {NUMBER}")
    assert ticket.team == teams["tech"]
    assert call.customer.identities.get().value == NUMBER
    assert call.text == "Outbound call, voicemail left"


def test_a_call_without_a_ticket_joins_the_callers_open_phone_ticket(teams, tech_agent):
    first = log(author=tech_agent)
    second = log(author=tech_agent, outcome="answered", duration_seconds=30)

    assert second.ticket == first.ticket
    assert Ticket.objects.count() == 1


def test_a_resolved_phone_ticket_is_not_reused(teams, tech_agent):
    first = log(author=tech_agent, outcome="answered", duration_seconds=30)
    from tickets.actions.tickets import do_resolve_ticket

    do_resolve_ticket(ticket=first.ticket, actor=tech_agent, resolution_note="Done")

    second = log(author=tech_agent)

    assert second.ticket != first.ticket
    assert second.customer == first.customer


def test_a_number_of_another_customer_stays_theirs_and_a_merge_is_suggested(
    billing_rule, email_ticket, billing_agent
):
    deliver(message("sms", ("sms", NUMBER), text="Hi"))
    texter = Identity.objects.get(kind="phone", value=NUMBER).customer

    call = log(author=billing_agent, ticket=email_ticket, outcome="answered")

    assert call.ticket == email_ticket and call.customer == email_ticket.customer
    assert Identity.objects.get(kind="phone").customer == texter
    assert MergeSuggestion.objects.filter(status="pending").count() == 1


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"direction": "sideways"}, CallLogError),
        ({"outcome": "lost"}, CallLogError),
        ({"duration_seconds": -1}, CallLogError),
        ({"number": "12"}, InvalidIdentityError),
    ],
)
def test_bad_call_details_are_refused_and_nothing_is_written(
    teams, tech_agent, fields, error
):
    with pytest.raises(error):
        log(author=tech_agent, **fields)

    assert not TimelineEvent.objects.exists()
    assert not Customer.objects.exists()


def test_a_reply_on_a_call_ticket_cannot_be_sent_as_a_call(teams, tech_agent):
    call = log(author=tech_agent)

    with TestCase.captureOnCommitCallbacks(execute=True):
        reply = do_reply(ticket=call.ticket, author=tech_agent, text="Hello")

    reply.refresh_from_db()
    assert reply.delivery_status == "failed"
    assert "a phone call cannot be sent" in reply.delivery_error


# ------------------------------------------------------------------------ page


def signed_in(agent) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    return client


def form_post(client: Client, data: dict):
    token = client.get(PAGE).cookies["csrftoken"].value
    fields = {
        "direction": "inbound",
        "number": NUMBER,
        "duration": "3:12",
        "outcome": "answered",
        "note": "",
        "csrfmiddlewaretoken": token,
        **data,
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(PAGE, fields)


def test_the_form_is_prefilled_from_the_ticket(
    billing_rule, email_ticket, billing_agent
):
    deliver(message("email", ("email", "ana@example.com"), ("phone", NUMBER)))

    page = signed_in(billing_agent).get(PAGE, {"ticket": email_ticket.pk})

    assert page.status_code == 200
    assert page.context["form"].initial["ticket"] == email_ticket.pk
    assert page.context["form"].initial["number"] == NUMBER
    assert b'name="csrfmiddlewaretoken"' in page.content


def test_an_agent_of_the_owning_team_logs_a_call_from_the_form(
    billing_rule, email_ticket, billing_agent
):
    client = signed_in(billing_agent)

    response = form_post(
        client, {"ticket": email_ticket.pk, "note": "Refund explained"}
    )

    assert response.status_code == 302
    assert response.url == f"/customers/{email_ticket.customer_id}/"
    call = email_ticket.events.get(kind="call")
    assert call.text == "Answered call, 3 min 12 s\n\nRefund explained"
    assert call.author == billing_agent


def test_an_agent_of_another_team_gets_a_404_for_that_teams_ticket(
    billing_rule, email_ticket, tech_agent
):
    client = signed_in(tech_agent)

    assert client.get(PAGE, {"ticket": email_ticket.pk}).status_code == 404
    assert form_post(client, {"ticket": email_ticket.pk}).status_code == 404
    assert not TimelineEvent.objects.filter(kind="call").exists()


def test_an_invalid_number_is_a_clear_form_error(teams, tech_agent):
    response = form_post(signed_in(tech_agent), {"number": "call me maybe"})

    assert response.status_code == 200
    assert "Enter a valid phone number with its country code" in (
        response.content.decode()
    )
    assert not TimelineEvent.objects.exists()


def test_a_bad_duration_is_a_form_error(teams, tech_agent):
    response = form_post(signed_in(tech_agent), {"duration": "ten minutes"})

    assert response.status_code == 200
    assert response.context["form"].errors["duration"]


def test_the_form_refuses_a_post_without_the_csrf_token(teams, tech_agent):
    client = signed_in(tech_agent)

    response = client.post(
        PAGE,
        {
            "direction": "inbound",
            "number": NUMBER,
            "duration": "0",
            "outcome": "missed",
        },
    )

    assert response.status_code == 403
    assert not TimelineEvent.objects.exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(teams):
    client = Client()

    assert client.get(PAGE).status_code == 302
    response = client.post(
        PAGE,
        {
            "direction": "inbound",
            "number": NUMBER,
            "duration": "0",
            "outcome": "missed",
        },
    )
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert not TimelineEvent.objects.exists()


# ------------------------------------------------------------------------- API


def api_as(agent) -> APIClient:
    client = APIClient()
    client.force_login(agent)
    return client


def api_post(client: APIClient, data: dict):
    payload = {
        "direction": "outbound",
        "number": NUMBER,
        "duration_seconds": 95,
        "outcome": "answered",
        "note": "Walked through the reset",
        **data,
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(API, payload, format="json")


def test_the_api_logs_a_call_on_a_ticket_of_the_agents_team(
    billing_rule, email_ticket, billing_agent
):
    response = api_post(api_as(billing_agent), {"ticket": email_ticket.pk})

    assert response.status_code == 201, response.content
    body = response.json()
    call = TimelineEvent.objects.get(pk=body["event_id"])
    assert (call.ticket, call.kind) == (email_ticket, "call")
    assert body | {"occurred_at": None} == {
        "event_id": call.pk,
        "ticket_id": email_ticket.pk,
        "number": NUMBER,
        "direction": "outbound",
        "outcome": "answered",
        "duration_seconds": 95,
        "text": "Outbound call, answered, 1 min 35 s\n\nWalked through the reset",
        "occurred_at": None,
    }


def test_the_api_answers_404_for_another_teams_ticket(
    billing_rule, email_ticket, tech_agent
):
    response = api_post(api_as(tech_agent), {"ticket": email_ticket.pk})

    assert response.status_code == 404
    assert not TimelineEvent.objects.filter(kind="call").exists()


def test_the_api_answers_404_for_a_customer_the_agent_cannot_see(
    billing_rule, email_ticket, tech_agent
):
    response = api_post(api_as(tech_agent), {"customer": email_ticket.customer_id})

    assert response.status_code == 404


def test_the_api_refuses_an_anonymous_caller(teams):
    response = api_post(APIClient(), {})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert not TimelineEvent.objects.exists()


def test_the_api_checks_csrf_for_a_session(teams, tech_agent):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(tech_agent)

    response = api_post(client, {})

    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_the_api_explains_an_invalid_number(teams, tech_agent):
    response = api_post(api_as(tech_agent), {"number": "+1 555"})

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["number"] == [
        "Enter a valid phone number with its country code, e.g. +14155552671."
    ]
    assert not TimelineEvent.objects.exists()


def test_the_api_writes_only_its_own_fields(teams, tech_agent, supervisor):
    """The author is whoever is signed in: a body naming another author, kind or
    channel is refused, and nothing is logged."""
    response = api_post(
        api_as(tech_agent),
        {"author": supervisor.pk, "kind": "note", "channel": "email"},
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) >= {"author", "kind", "channel"}
    assert not TimelineEvent.objects.filter(kind="call").exists()


# ------------------------------------------- a number of another team's customer


@pytest.fixture
def tech_phone_ticket(teams, tech_agent) -> Ticket:
    """Ana's open phone ticket, Technical support's: a call its agent logged."""
    deliver(message("sms", ("sms", NUMBER), sender_name="Ana Tech", text="Help"))
    call = log(author=tech_agent, outcome="answered", duration_seconds=60)
    ticket = Ticket.objects.get(pk=call.ticket_id)
    assert ticket.team == teams["tech"]
    return ticket


def test_a_call_for_another_teams_caller_opens_a_ticket_of_the_agents_team(
    tech_phone_ticket, teams, billing_agent
):
    """The call lands on neither the other team's ticket nor a new customer: the
    agent's team takes a new ticket of the same customer, without the rules."""
    call = log(author=billing_agent, outcome="answered", duration_seconds=30)

    ticket = Ticket.objects.get(pk=call.ticket_id)
    assert ticket != tech_phone_ticket
    assert ticket.team == teams["billing"]
    assert ticket.customer == tech_phone_ticket.customer
    change = ticket.route_changes.get()
    assert (change.to_team, change.actor, change.rule) == (
        teams["billing"],
        billing_agent,
        None,
    )
    assert not tech_phone_ticket.events.filter(author=billing_agent).exists()
    # The next call of the same number joins the team's own ticket.
    again = log(author=billing_agent)
    assert again.ticket == ticket


def test_the_api_answers_with_the_new_ticket_only(
    tech_phone_ticket, teams, billing_agent
):
    client = api_as(billing_agent)

    response = api_post(client, {})

    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get(pk=body["ticket_id"])
    assert ticket.team == teams["billing"]
    assert {key for key in body if key.endswith("_id")} == {"event_id", "ticket_id"}
    assert TimelineEvent.objects.get(pk=body["event_id"]).ticket == ticket
    others = {tech_phone_ticket.pk, tech_phone_ticket.customer_id} - {ticket.pk}
    assert not others & set(body.values())
    assert "Ana Tech" not in response.content.decode()
    # The other team's ticket stays closed to the agent.
    assert client.get(f"/api/v1/tickets/{tech_phone_ticket.pk}/").status_code == 404
    page = signed_in(billing_agent).get(f"/tickets/{tech_phone_ticket.pk}/")
    assert page.status_code == 404


def test_the_page_logs_it_on_the_new_ticket_and_names_nobody(
    tech_phone_ticket, teams, billing_agent
):
    client = signed_in(billing_agent)

    response = form_post(client, {"note": "Asked about a refund"})

    assert response.status_code == 302 and response.url == PAGE
    ticket = Ticket.objects.get(team=teams["billing"])
    assert ticket.customer == tech_phone_ticket.customer
    shown = client.get(response.url).content.decode()
    assert f"Call logged on ticket #{ticket.pk}" in shown
    assert "Ana Tech" not in shown
    assert f"#{tech_phone_ticket.pk}" not in shown
    assert client.get(f"/tickets/{tech_phone_ticket.pk}/").status_code == 404
