from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from channels_app.demo import LOGINS, PEOPLE
from channels_app.demo.builder import DemoError, play
from channels_app.demo.desk import ensure_desk
from channels_app.demo.records import Assign, Conversation, Message, Person, Reply
from channels_app.models import InboundRecord, Inbox
from customers.models import Customer, Identity, MergeSuggestion
from tests.smtp_server import free_port, use_smtp
from tickets.models import Agent, RouteChange, Team, Ticket, TicketStatus, TimelineEvent


@pytest.fixture(autouse=True)
def _demo_mode(settings):
    """seed_demo seeds only in demo mode; the suite runs with DATABASE_URL set."""
    settings.DEMO = True


@pytest.fixture
def fast_passwords(settings):
    # Hashing eight demo passwords with the production hasher dominates the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db, fast_passwords) -> str:
    """The demo desk, seeded inside the test's transaction.

    Nothing queued on commit runs here, so the command's own processing and routing
    are what build the desk, as with PostgreSQL and no worker running.
    """
    return seed()


def customer_with(kind: str, value: str) -> Customer:
    return (
        Identity.objects.select_related("customer").get(kind=kind, value=value).customer
    )


def row_counts() -> dict[str, int]:
    models = [
        model
        for label in ("customers", "tickets", "channels_app")
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    ]
    models += [Group, Group.permissions.through]
    return {model._meta.label: model.objects.count() for model in models}


def test_the_desk_has_three_teams_with_tech_support_as_default_and_two_agents_each(
    seeded,
):
    teams = {team.name: team for team in Team.objects.all()}

    assert set(teams) == {"Billing", "Technical support", "Sales"}
    assert Team.objects.get(is_default=True).name == "Technical support"
    for team in teams.values():
        agents = team.agents.filter(role=Agent.Role.AGENT)
        assert agents.count() >= 2
        assert not agents.filter(is_staff=True).exists()


def test_the_admin_and_the_supervisor_can_use_the_django_admin(seeded):
    admin = Agent.objects.get(username="admin")
    supervisor = Agent.objects.get(role=Agent.Role.SUPERVISOR)

    assert admin.role == Agent.Role.ADMIN and admin.is_staff and admin.is_superuser
    assert supervisor.is_staff and not supervisor.is_superuser
    assert supervisor.has_perm("tickets.change_routingrule")
    assert supervisor.has_perm("tickets.change_ticket")
    assert supervisor.has_perm("customers.view_mergesuggestion")
    assert not supervisor.has_perm("tickets.change_agent")


def test_demo_logins_accept_the_printed_passwords(seeded):
    for login in LOGINS:
        assert Agent.objects.get(username=login.username).check_password(login.password)


def test_customers_reached_the_desk_on_at_least_four_channels(seeded):
    inbound = TimelineEvent.objects.filter(kind=TimelineEvent.Kind.MESSAGE_IN)
    channels = set(inbound.values_list("channel", flat=True))

    assert {"email", "chat", "whatsapp", "phone"} <= channels
    assert Customer.objects.filter(merged_into__isnull=True).count() >= 8


def test_one_customer_reached_by_email_whatsapp_and_phone_has_one_timeline(seeded):
    ana = customer_with("email", "ana.lima@example.com")
    inbound = ana.timeline.filter(kind=TimelineEvent.Kind.MESSAGE_IN)

    assert {"email", "phone", "whatsapp"} <= set(
        ana.identities.values_list("kind", flat=True)
    )
    assert {"email", "whatsapp", "phone"} <= set(
        inbound.values_list("channel", flat=True)
    )
    assert customer_with("whatsapp", "+14155552671") == ana
    assert customer_with("phone", "+14155552671") == ana


def test_earlier_tickets_are_resolved_with_notes_and_later_ones_stay_open(seeded):
    resolved = Ticket.objects.filter(status=TicketStatus.RESOLVED)

    assert resolved.count() >= 5
    assert not resolved.filter(resolution_note="").exists()
    assert not resolved.filter(resolved_at__isnull=True).exists()
    assert Ticket.objects.filter(status__in=["new", "open"]).count() >= 3
    ana = customer_with("email", "ana.lima@example.com")
    assert ana.tickets.filter(status=TicketStatus.RESOLVED).count() >= 2
    assert ana.tickets.filter(status=TicketStatus.OPEN).exists()


def test_every_ticket_is_routed_and_each_route_is_recorded(seeded):
    tickets = Ticket.objects.all()

    assert tickets.exists()
    assert not tickets.filter(team__isnull=True).exists()
    assert not tickets.filter(routed_at__isnull=True).exists()
    for ticket in tickets:
        assert ticket.route_changes.filter(from_team__isnull=True).count() == 1


def test_keywords_and_the_enterprise_segment_pick_the_team(seeded):
    by_subject = {ticket.subject: ticket for ticket in Ticket.objects.all()}

    assert by_subject["Wrong VAT number on invoice INV-2291"].team.name == "Billing"
    assert by_subject["SSO login error for all our users"].team.name == (
        "Technical support"
    )
    seats = by_subject["Adding 40 seats for our Lisbon office"]
    assert seats.team.name == "Sales"
    assert seats.routed_by_rule.segments == ["enterprise"]
    assert seats.customer.segment == "enterprise"


def test_a_supervisor_moved_a_misrouted_ticket_with_a_reason(seeded):
    move = RouteChange.objects.get(actor__role=Agent.Role.SUPERVISOR)

    assert (move.from_team.name, move.to_team.name) == ("Billing", "Technical support")
    assert move.reason
    assert move.ticket.team == move.to_team


def test_one_merge_suggestion_waits_for_a_supervisor(seeded):
    suggestion = MergeSuggestion.objects.get(status=MergeSuggestion.Status.PENDING)

    assert suggestion.customer == customer_with("email", "ivan.petrov@example.net")
    assert suggestion.other == customer_with("whatsapp", "+12065550148")


def test_the_history_spreads_over_past_weeks(seeded):
    now = timezone.now()
    events = TimelineEvent.objects.all()
    first = events.order_by("occurred_at").first()
    last = events.order_by("occurred_at").last()

    assert first.occurred_at < now - timedelta(days=14)
    assert last.occurred_at < now
    assert Ticket.objects.order_by("id").first().created_at < now - timedelta(days=14)
    assert not Ticket.objects.filter(
        first_response_at__gt=now - timedelta(hours=1)
    ).exists()


def test_every_message_of_the_table_lands_once_on_its_channel(seeded):
    written = [
        (conversation.channel, step.id)
        for person in PEOPLE
        for conversation in person.conversations
        for step in conversation.steps
        if isinstance(step, Message)
    ]
    stored = TimelineEvent.objects.filter(kind=TimelineEvent.Kind.MESSAGE_IN)

    assert sorted(stored.values_list("channel", "external_id")) == sorted(written)


def test_each_conversation_of_the_table_is_one_ticket_of_its_person(seeded):
    tickets = set()
    for person in PEOPLE:
        for conversation in person.conversations:
            ids = [step.id for step in conversation.steps if isinstance(step, Message)]
            held = Ticket.objects.filter(events__external_id__in=ids).distinct()
            assert held.count() == 1, ids
            assert held.get().customer.display_name == person.name
            tickets.add(held.get().pk)

    assert len(tickets) == Ticket.objects.count()


def hana_writes(*steps) -> Person:
    return Person(
        "Hana Sato",
        reach={"chat": ("web", "visitor-2b91e7")},
        conversations=(Conversation("chat", session="s", steps=steps),),
    )


@pytest.mark.parametrize(
    "person",
    [
        hana_writes(
            Message((1, "09:00"), "widget-hana-past", "Hello?"),
            Reply((-1, "09:00"), "tess", "Tomorrow's answer"),
        ),
        # The message comes first in time, so only the check keeps it out.
        hana_writes(
            Assign((1, "09:00"), "tess"),
            Message((2, "09:00"), "widget-hana-late", "Hello?"),
        ),
    ],
    ids=["a step in the future", "a conversation opened by an agent"],
)
def test_a_row_that_cannot_be_played_is_refused_before_anything_is_played(
    db, fast_passwords, person
):
    desk = ensure_desk()

    with pytest.raises(DemoError):
        play([person], desk=desk, now=timezone.now())

    assert not InboundRecord.objects.exists()
    assert not Ticket.objects.exists()


def test_a_second_run_changes_nothing_and_prints_the_logins_again(seeded):
    counts = row_counts()
    tickets = list(
        Ticket.objects.values_list("id", "status", "team", "assignee", "updated_at")
    )

    output = seed()

    assert row_counts() == counts
    assert (
        list(
            Ticket.objects.values_list("id", "status", "team", "assignee", "updated_at")
        )
        == tickets
    )
    assert "nothing changed" in output
    for login in LOGINS:
        assert login.username in output


def test_every_run_prints_each_login_with_its_password(seeded):
    lines = seeded.splitlines()

    assert "Demo logins:" in lines
    for login in LOGINS:
        row = next(
            line.split() for line in lines if line.split()[:1] == [login.username]
        )
        assert row[1:3] == [login.password, login.role]


@pytest.mark.django_db(transaction=True)
def test_with_tasks_run_at_commit_every_message_is_processed_and_replies_sent(
    fast_passwords, settings
):
    """As in embedded mode: each step commits and its tasks run inline. The demo's
    mail stays in memory even with an SMTP server configured."""
    use_smtp(settings, port=free_port())
    seed()

    replies = TimelineEvent.objects.filter(kind=TimelineEvent.Kind.MESSAGE_OUT)
    assert not InboundRecord.objects.exclude(
        status=InboundRecord.Status.PROCESSED
    ).exists()
    assert not Ticket.objects.filter(team__isnull=True).exists()
    assert replies.exists()
    assert set(replies.values_list("delivery_status", flat=True)) == {"sent"}
    assert len(mail.outbox) == replies.filter(channel="email").count() > 0
    assert MergeSuggestion.objects.filter(status="pending").count() == 1


# ------------------------------------------------------------ the chat widget


@pytest.fixture
def demo_mode(settings, fast_passwords):
    settings.DEMO_INBOXES_ENABLED = True


def test_the_demo_chat_may_be_embedded_by_the_demo_shop_on_its_local_addresses(
    db, demo_mode, client
):
    """`make run` serves the desk at 127.0.0.1:8000; localhost is the same desk."""
    seed()

    frame = client.get("/widget/demo/")

    assert frame.status_code == 200
    policy = frame["Content-Security-Policy"]
    ancestors = next(p for p in policy.split("; ") if p.startswith("frame-ancestors"))
    assert "http://127.0.0.1:8000" in ancestors and "http://localhost:8000" in ancestors
    assert b"Ask us anything about your order" in frame.content


def test_the_demo_chat_inbox_can_verify_signed_in_shoppers(db, demo_mode):
    seed()

    chat = Inbox.objects.get(adapter="chat", slug="demo")

    assert chat.enabled
    assert chat.secret("identity_secret") == "demo-chat-identity-secret"
