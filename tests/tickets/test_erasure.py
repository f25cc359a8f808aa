"""Erasing a customer leaves nothing of the person in any table of the desk, and
keeps the counts, the route ledger and an audit entry."""

import re
from collections import Counter
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client

from channels_app.models import ChatEntry, ChatVisitor, InboundRecord, Inbox
from customers.models import Customer, Identity
from supportdesk.api.tokens import do_issue_api_token
from supportdesk.models import AuditEntry, WebhookDelivery, WebhookEndpoint
from tests.channels_app.widget.conftest import Widget
from tests.factories import AgentFactory
from tests.helpers import deliver, message
from tickets.actions.calls import do_log_call
from tickets.actions.erasure import do_erase_customer
from tickets.actions.merges import do_merge_customers
from tickets.actions.routing import do_reassign_ticket
from tickets.actions.tickets import do_resolve_ticket
from tickets.inbound import InboundAttachment
from tickets.models import Attachment, RouteChange, Ticket, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "ana.quibbleworth@example.com"
PHONE = "+14155552671"
NAME = "Ana Quibbleworth"
# A word no one else writes: found wherever a message of hers went.
PHRASE = "umbrellaphone"
# What must be nowhere after the erasure: the address, the number's digits (as
# providers write them), the surname and the phrase.
ERASED = (EMAIL, PHONE.lstrip("+"), "quibbleworth", PHRASE)

# Column types that can hold her words, read as text.
_AS_TEXT = {
    "text": "{}",
    "character varying": "{}",
    "character": "{}",
    "jsonb": "{}::text",
    "json": "{}::text",
    "tsvector": "{}::text",
    "bytea": "encode({}, 'escape')",
}


def columns_holding(value: str) -> list[str]:
    """Every table.column of the database whose text holds the value, in any case."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        )
        columns = [row for row in cursor.fetchall() if row[2] in _AS_TEXT]
        for table, column, data_type in columns:
            text = _AS_TEXT[data_type].format(f'"{column}"')
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE lower({text}) LIKE %s',
                [f"%{value.lower()}%"],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def searched_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT table_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def desk(teams, settings):
    settings.WEBHOOK_ALLOWED_TARGET_NETWORKS = ["127.0.0.0/8"]
    WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/hooks",
        events=["message.created", "ticket.created"],
    )
    chat = Inbox.objects.create(
        adapter=Inbox.Adapter.CHAT,
        name="Shop chat",
        slug="shop",
        config={"allowed_origins": ["http://shop.example"]},
        secrets={"identity_secret": "host-site-secret"},
    )
    return {"teams": teams, "chat": chat}


def build_ana(desk, supervisor) -> Customer:
    """Ana writes by email with a file, on WhatsApp, in the chat widget with a
    file, and calls; a supervisor merges her chat into her record and moves a
    ticket naming her."""
    deliver(
        message(
            "email",
            ("email", EMAIL),
            ("phone", PHONE),
            sender_name=NAME,
            subject=f"{PHRASE} order",
            text=f"Hello, {PHRASE} is broken. Regards, {NAME}",
            html=f"<p>Hello, {PHRASE} is broken.</p>",
            quoted_text=f"On Monday {NAME} <{EMAIL}> wrote",
            attachments=(
                InboundAttachment(
                    name="quibbleworth-passport.pdf",
                    content_type="application/pdf",
                    content=f"%PDF {NAME} {PHRASE}".encode(),
                ),
            ),
        )
    )
    deliver(
        message(
            "whatsapp",
            ("whatsapp", PHONE),
            sender_name=NAME,
            text=f"Any news on the {PHRASE}?",
            metadata={"profile_name": NAME, "wa_id": PHONE.lstrip("+")},
        )
    )
    widget = Widget(Client(), desk["chat"])
    widget.start(name=NAME, email=EMAIL)
    response = widget.upload(
        client_id="c-1",
        file=SimpleUploadedFile(
            "quibbleworth.png", PHRASE.encode(), content_type="image/png"
        ),
        text=f"A picture of the {PHRASE}",
    )
    assert response.status_code == 202, response.content
    ana = Identity.objects.get(kind="email", value=EMAIL).customer
    visitor = widget.visitor()
    chat_customer = Identity.objects.get(value=visitor.identity_value).customer
    if chat_customer.pk != ana.pk:
        do_merge_customers(
            source=chat_customer, target=ana, actor=supervisor, reason=f"Same {NAME}"
        )
    agent = AgentFactory(username="tariq", teams=[desk["teams"]["tech"]])
    do_log_call(
        author=agent,
        direction="inbound",
        number=PHONE,
        duration_seconds=90,
        outcome="answered",
        note=f"{NAME} asked about the {PHRASE}",
    )
    ticket = Ticket.objects.filter(customer=ana, channel="email").get()
    do_reassign_ticket(
        ticket=ticket,
        to_team=desk["teams"]["billing"],
        actor=supervisor,
        reason=f"{NAME} asks for a refund",
    )
    ana.display_name = NAME
    ana.save(update_fields=["display_name"])
    return ana


def shape_of(customer: Customer) -> dict:
    """What must survive an erasure: counts, kinds, channels, statuses, times."""
    tickets = Ticket.objects.filter(customer=customer).order_by("pk")
    return {
        "tickets": list(tickets.values_list("pk", "channel", "status", "team_id")),
        "events": Counter(
            TimelineEvent.objects.filter(customer=customer).values_list(
                "kind", "channel"
            )
        ),
        "times": sorted(
            TimelineEvent.objects.filter(customer=customer).values_list(
                "occurred_at", flat=True
            )
        ),
        "routes": list(
            RouteChange.objects.filter(ticket__in=tickets)
            .order_by("pk")
            .values_list("pk", "ticket_id", "from_team_id", "to_team_id")
        ),
    }


def test_an_erased_customer_is_in_no_column_of_any_table(desk, supervisor):
    """After erasing a customer who wrote by email, WhatsApp and chat with files
    and called, no text, JSON, search or binary column of any table holds her
    address, number, name or words; her tickets, events and route ledger stay
    as counts; the audit says who erased her and why."""
    ana = build_ana(desk, supervisor)
    # Her data is where the desk keeps it, so finding none after means something.
    assert InboundRecord.objects.count() >= 3
    assert Attachment.objects.filter(event__customer=ana).count() == 2
    assert ChatVisitor.objects.exists() and ChatEntry.objects.exists()
    assert WebhookDelivery.objects.exists()
    for value in ERASED:
        assert columns_holding(value), value
    before = shape_of(ana)
    assert {kind for kind, _ in before["events"]} >= {"message_in", "call"}
    assert {channel for _, channel in before["events"]} >= {
        "email",
        "whatsapp",
        "chat",
        "phone",
    }

    entry = call_erase(ana, supervisor, reason="Erasure request #812 by mail")

    # Every table of the desk was searched, not only the ones erasure knows.
    tables = searched_tables()
    assert {
        "customers_customer",
        "tickets_timelineevent",
        "tickets_attachment",
        "channels_app_inboundrecord",
        "supportdesk_webhookdelivery",
        "supportdesk_auditentry",
    } <= tables
    leftovers = {value: columns_holding(value) for value in ERASED}
    assert leftovers == {value: [] for value in ERASED}
    assert shape_of(ana) == before
    assert not Identity.objects.filter(customer=ana).exists()
    assert not Attachment.objects.filter(event__customer=ana).exists()
    assert not ChatVisitor.objects.exists()

    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.action == "customer.erased"
    assert entry.actor == supervisor and entry.actor_name == supervisor.username
    assert entry.reason == "Erasure request #812 by mail"
    assert entry.target == f"customer #{ana.pk}"
    assert entry.details["tickets"] == len(before["tickets"])
    assert entry.details["attachments"] == 2
    assert entry.details["inbound_records"] >= 3


def call_erase(customer, supervisor, *, reason: str) -> AuditEntry:
    """Erase through the customer page, as a supervisor does."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(supervisor)
    url = f"/supervisor/customers/{customer.pk}/erase/"
    page = browser.get(url)
    assert page.status_code == 200
    assert b"cannot be undone" in page.content
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    # Without confirming, nothing happens.
    unconfirmed = browser.post(
        url, {"reason": reason, "csrfmiddlewaretoken": token.group(1).decode()}
    )
    assert unconfirmed.status_code == 400
    assert not AuditEntry.objects.exists()
    response = browser.post(
        url,
        {
            "reason": reason,
            "confirm": "on",
            "csrfmiddlewaretoken": token.group(1).decode(),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"
    return AuditEntry.objects.get(action="customer.erased")


def test_the_page_refuses_a_post_without_csrf(desk, supervisor):
    """A forged form from another site erases nothing."""
    ana = build_ana(desk, supervisor)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(supervisor)
    response = browser.post(
        f"/supervisor/customers/{ana.pk}/erase/",
        {"reason": "forged", "confirm": "on"},
    )
    assert response.status_code == 403
    assert Identity.objects.filter(customer=ana).exists()
    assert not AuditEntry.objects.exists()


def test_an_agent_cannot_erase_from_the_page_or_the_api(desk, supervisor):
    """Erasing is for supervisors and admins: an agent gets 403 from the page and
    the API, and the customer is untouched."""
    ana = build_ana(desk, supervisor)
    agent = AgentFactory(username="bruno", teams=[desk["teams"]["billing"]])
    browser = Client()
    browser.force_login(agent)
    url = f"/supervisor/customers/{ana.pk}/erase/"
    assert browser.get(url).status_code == 403
    assert browser.post(url, {"reason": "x", "confirm": "on"}).status_code == 403

    _, key = do_issue_api_token(user=agent, name="agent", scopes=["admin"])
    response = Client().post(
        f"/api/v1/customers/{ana.pk}/erase/",
        {"reason": "x"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 403
    assert Identity.objects.filter(customer=ana).count() >= 3
    assert not AuditEntry.objects.exists()


def test_the_api_erases_with_the_admin_scope_and_a_reason(desk, supervisor):
    """A supervisor's token needs the admin scope and a reason; the answer is the
    audit entry with the counts."""
    ana = build_ana(desk, supervisor)
    _, write_key = do_issue_api_token(user=supervisor, name="w", scopes=["write"])
    _, admin_key = do_issue_api_token(user=supervisor, name="a", scopes=["admin"])
    url = f"/api/v1/customers/{ana.pk}/erase/"

    def post(key, body):
        return Client().post(
            url,
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )

    assert post(write_key, {"reason": "GDPR request"}).status_code == 403
    assert post(admin_key, {}).status_code == 400
    assert Identity.objects.filter(customer=ana).exists()

    response = post(admin_key, {"reason": "GDPR request"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer"] == ana.pk
    assert body["erased_by"] == supervisor.username
    assert body["reason"] == "GDPR request"
    assert body["counts"]["tickets"] == Ticket.objects.filter(customer=ana).count()
    assert not Identity.objects.filter(customer=ana).exists()
    assert columns_holding(EMAIL) == []


def test_the_command_erases_by_identity(desk, supervisor):
    """`manage.py erase_customer email:... --reason ... --yes` erases, and the
    audit says it came from the command line."""
    ana = build_ana(desk, supervisor)
    out = StringIO()

    call_command(
        "erase_customer",
        f"email:{EMAIL}",
        "--reason",
        "Ticket 99 request",
        "--yes",
        stdout=out,
    )

    assert f"Erased customer #{ana.pk}" in out.getvalue()
    assert columns_holding(PHONE.lstrip("+")) == []
    entry = AuditEntry.objects.get(action="customer.erased")
    assert entry.actor is None and entry.actor_name == "command line"
    assert entry.details["via"] == "command"
    assert entry.reason == "Ticket 99 request"


def test_a_reason_naming_the_customer_is_kept_without_her_name(desk, supervisor):
    """The audit never keeps what it erased, even when the reason names her."""
    ana = build_ana(desk, supervisor)
    entry = do_erase_customer(
        customer=ana, actor=supervisor, reason=f"{NAME} asked by mail", via="page"
    )

    assert "quibbleworth" not in entry.reason.lower()
    assert entry.reason.endswith("asked by mail")


def test_resolved_tickets_lose_their_note_text_but_stay_resolved(desk, supervisor):
    """A resolved ticket of an erased customer stays resolved, its note bare."""
    ana = build_ana(desk, supervisor)
    ticket = Ticket.objects.filter(customer=ana, channel="whatsapp").get()
    do_resolve_ticket(
        ticket=ticket, actor=supervisor, resolution_note=f"Sent {NAME} a new one"
    )
    ticket.refresh_from_db()
    resolved_at = ticket.resolved_at

    do_erase_customer(customer=ana, actor=supervisor, reason="request", via="page")

    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolved_at == resolved_at
    assert ticket.resolution_note == "Erased."
