"""The ticket page of a chat from the widget: who the visitor is, whether the
widget is open, and the customer's rating of the conversation."""

import time

import pytest
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext

from channels_app.ingest import process_inbound
from channels_app.models import ChatVisitor, InboundRecord, Inbox
from channels_app.widget import actions, door
from channels_app.widget.tokens import user_hash, visitor_for_token
from tests.helpers import deliver, message
from tickets.actions.ratings import do_rate_ticket
from tickets.actions.tickets import do_resolve_ticket
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

SECRET = "shop-identity-secret"
HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture(autouse=True)
def generous_limits(settings):
    # Visitors here all come from the test client's one address.
    settings.WIDGET_RATE_VISITORS = "1000/60"
    settings.WIDGET_RATE_MESSAGES = "1000/60"
    settings.WIDGET_RATE_CONVERSATIONS = "1000/60"


@pytest.fixture
def chat_inbox(db) -> Inbox:
    return Inbox.objects.create(
        adapter=Inbox.Adapter.CHAT,
        name="Shop chat",
        slug="shop",
        config={"allowed_origins": ["http://shop.example"]},
        secrets={"identity_secret": SECRET},
    )


@pytest.fixture
def agent_client(client, supervisor) -> Client:
    client.force_login(supervisor)
    return client


def visitor(inbox: Inbox, **body) -> ChatVisitor:
    """A visitor as the widget makes one: a session, then the token's visitor."""
    response = Client().post(
        f"/widget/{inbox.slug}/session", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return visitor_for_token(response.json()["token"], inbox)


def writes(chat_visitor: ChatVisitor, text: str, client_id: str) -> Ticket:
    """The visitor's message through the widget's door, processed as a worker
    would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        record, _ = door.receive_message(
            visitor=chat_visitor, data={"client_id": client_id, "text": text}
        )
    record.refresh_from_db()
    if record.status == InboundRecord.Status.RECEIVED:
        with TestCase.captureOnCommitCallbacks(execute=True):
            record = process_inbound(record.pk)
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def html_of(client, ticket: Ticket, suffix: str = "") -> str:
    response = client.get(f"/tickets/{ticket.pk}/{suffix}")
    assert response.status_code == 200
    return response.content.decode()


def chip(html: str) -> str:
    """The header's line about the chat visitor."""
    start = html.index('data-testid="chat-visitor"')
    return html[start : html.index("</p>", start)]


# ------------------------------------------------------------ the visitor


def test_a_chat_ticket_names_its_visitor_unverified_and_with_the_widget_open(
    agent_client, chat_inbox
):
    ana = visitor(chat_inbox, name="Ana Lima", email="ana@example.com")
    ticket = writes(ana, "Where is my order?", "m1")
    actions.do_touch_visitor(visitor_id=ana.pk)

    line = chip(html_of(agent_client, ticket))

    assert "Ana Lima" in line and "ana@example.com" in line
    assert "not verified" in line
    assert "widget open" in line and ">away<" not in line


def test_a_visitor_who_closed_the_widget_is_away_and_answers_go_by_email(
    agent_client, chat_inbox
):
    ana = visitor(chat_inbox, name="Ana Lima", email="ana@example.com")
    ticket = writes(ana, "Where is my order?", "m1")
    actions.do_mark_visitor_away(visitor_id=ana.pk)

    line = chip(html_of(agent_client, ticket))

    assert ">away<" in line and "widget open" not in line
    assert "Replies also go to ana@example.com" in line


def test_a_signed_in_customer_of_the_site_shows_as_verified(agent_client, chat_inbox):
    now = int(time.time())
    user = {
        "id": "u-77",
        "ts": now,
        "hash": user_hash(SECRET, user_id="u-77", timestamp=now),
    }
    kim = visitor(chat_inbox, name="Kim", user=user)
    ticket = writes(kim, "Hello", "m1")

    line = chip(html_of(agent_client, ticket))

    assert "Kim" in line
    assert ">verified<" in line and "not verified" not in line


def test_what_the_visitor_typed_about_themselves_is_escaped(agent_client, chat_inbox):
    ticket = writes(visitor(chat_inbox, name=HOSTILE), "Hi", "m1")

    html = html_of(agent_client, ticket)

    assert HOSTILE not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in chip(html)


def test_a_ticket_from_another_channel_has_no_chat_visitor(agent_client, teams):
    record = deliver(message("email", ("email", "ana@example.com")))
    ticket = TimelineEvent.objects.get(pk=record.event_ids[0]).ticket

    html = html_of(agent_client, ticket)

    assert 'data-testid="chat-visitor"' not in html
    assert 'data-channel="email"' in html


def test_the_page_tells_the_desk_script_it_is_a_chat(agent_client, chat_inbox):
    """The script sends read receipts only for a chat ticket."""
    ticket = writes(visitor(chat_inbox, name="Ana"), "Hi", "m1")

    assert 'data-channel="chat"' in html_of(agent_client, ticket)


def test_a_chat_page_costs_the_same_queries_for_2_or_12_messages(
    agent_client, chat_inbox
):
    def chat_of(count: int, name: str) -> Ticket:
        someone = visitor(chat_inbox, name=name)
        for n in range(count):
            ticket = writes(someone, f"Message {n}", f"{name}-{n}")
        return ticket

    short, long = chat_of(2, "short"), chat_of(12, "long")

    def count(ticket: Ticket) -> int:
        with CaptureQueriesContext(connection) as queries:
            html_of(agent_client, ticket)
        return len(queries)

    assert count(short) == count(long)


# ------------------------------------------------------------------ ratings


@pytest.fixture
def rated(chat_inbox, supervisor) -> Ticket:
    """Ana's chat, resolved, then rated 4 of 5 with a comment."""
    ticket = writes(visitor(chat_inbox, name="Ana"), "My parcel is late", "m1")
    do_resolve_ticket(ticket=ticket, actor=supervisor, resolution_note="Resent it.")
    do_rate_ticket(
        ticket_id=ticket.pk, score=4, comment=f"Quick {HOSTILE} help", channel="chat"
    )
    return ticket


def test_the_rating_shows_on_the_ticket_as_stars_and_comment(agent_client, rated):
    html = html_of(agent_client, rated)

    start = html.index('data-testid="ticket-rating"')
    rating = html[start : html.index("</p>", start)]
    assert 'aria-label="4 out of 5 stars">★★★★☆</span> 4/5' in rating
    assert "Quick &lt;img src=x" in rating
    assert HOSTILE not in html


def test_a_rating_is_a_customer_event_on_the_timeline(agent_client, rated):
    event = TimelineEvent.objects.get(ticket=rated, kind=TimelineEvent.Kind.RATING)

    html = html_of(agent_client, rated)

    start = html.index(f'id="event-{event.pk}"')
    item = html[html.rindex("<li", 0, start) : html.index("</li>", start)]
    assert "kind-rating dir-in" in item
    assert "Customer rating" in item and "from Ana" in item
    assert "★★★★☆" in item and "4/5" in item
    assert '<q class="rating-comment">Quick &lt;img' in item


def test_a_rating_arriving_later_shows_in_the_refreshed_header_and_timeline(
    agent_client, chat_inbox, supervisor
):
    """The page fetches the header and the newer events when the desk says the
    ticket changed: both carry the rating."""
    ticket = writes(visitor(chat_inbox, name="Ana"), "Broken kettle", "m1")
    do_resolve_ticket(ticket=ticket, actor=supervisor, resolution_note="Replaced.")
    seen = TimelineEvent.objects.filter(customer_id=ticket.customer_id).latest("id")
    assert 'data-testid="ticket-rating"' not in html_of(agent_client, ticket)

    do_rate_ticket(ticket_id=ticket.pk, score=2, comment="Slow", channel="chat")

    header = html_of(agent_client, ticket, "header/")
    newer = html_of(agent_client, ticket, f"timeline/?after={seen.pk}")
    assert "★★☆☆☆</span> 2/5" in header and "Slow" in header
    assert "kind-rating" in newer and "★★☆☆☆" in newer
