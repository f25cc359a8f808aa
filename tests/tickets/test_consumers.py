"""The agents' WebSocket, end to end through the ASGI stack and the Redis layer."""

import uuid

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client, override_settings

from supportdesk import events
from supportdesk.asgi import application
from tests.factories import AgentFactory, RoutingRuleFactory
from tests.helpers import deliver, message
from tickets.actions.routing import do_reassign_ticket
from tickets.actions.tickets import do_add_note, do_change_priority, do_reply
from tickets.models import Agent, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)

# Waiting for a message that must come; no test relies on this being short.
RECEIVE_TIMEOUT = 10


@pytest.fixture(autouse=True)
def own_layer():
    """A Redis channel layer with a prefix of this test's own: other runs on the
    same server publish to groups of the same names."""
    assert settings.REDIS_URL, "the realtime tests need REDIS_URL"
    prefix = f"test-ws-{uuid.uuid4().hex[:12]}"
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": settings.REDIS_URL, "socket_timeout": None}],
                "prefix": prefix,
            },
        }
    }
    with override_settings(CHANNEL_LAYERS=layers):
        yield
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def headers_for(user=None) -> list[tuple[bytes, bytes]]:
    """A browser's handshake headers, signed in as the user through a real login."""
    headers = [(b"origin", b"http://testserver")]
    if user is not None:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        headers.append(
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())
        )
    return headers


async def connected(headers) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/desk/", headers=headers)
    accepted, _ = await socket.connect()
    assert accepted
    return socket


async def receive(socket) -> dict:
    return await socket.receive_json_from(timeout=RECEIVE_TIMEOUT)


async def watching(headers, ticket) -> WebsocketCommunicator:
    """A connected socket whose watch of the ticket was confirmed."""
    socket = await connected(headers)
    await socket.send_json_to({"action": "watch_ticket", "ticket_id": ticket.pk})
    assert await receive(socket) == {"type": "watching", "ticket_id": ticket.pk}
    return socket


@pytest.fixture
def colleague(teams):
    return AgentFactory(username="tess", first_name="Tess", teams=[teams["tech"]])


def new_ticket(text="My invoice is wrong", address="ana@example.com"):
    """A ticket opened by an email; tasks run eagerly, so it is routed at once."""
    record = deliver(message("email", ("email", address), text=text, subject=text))
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def test_an_anonymous_connection_is_refused(teams):
    anonymous = headers_for()

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/desk/", headers=anonymous)
        accepted, _ = await socket.connect()
        assert not accepted
        await socket.disconnect()

    async_to_sync(scenario)()


def test_an_agent_hears_their_teams_tickets_and_nothing_of_other_teams(
    teams, tech_agent, billing_agent, supervisor
):
    as_tech = headers_for(tech_agent)
    as_billing = headers_for(billing_agent)
    as_supervisor = headers_for(supervisor)

    async def scenario():
        tech = await connected(as_tech)
        billing = await connected(as_billing)
        boss = await connected(as_supervisor)

        # No rule matches: the default team (Technical support) gets it.
        first = await sync_to_async(new_ticket)("Printer on fire")
        heard = await receive(tech)
        assert (heard["type"], heard["ticket_id"]) == (events.TICKET_ROUTED, first.pk)
        assert heard["to_team_id"] == teams["tech"].pk
        # A supervisor hears everything, each event once though it reaches
        # several of their groups.
        heard = [await receive(boss), await receive(boss)]
        assert [(e["type"], e["ticket_id"]) for e in heard] == [
            (events.MESSAGE_CREATED, first.pk),
            (events.TICKET_ROUTED, first.pk),
        ]

        await sync_to_async(_move)(first, teams["billing"], supervisor)
        # Billing's first event is the ticket that came to Billing: nothing was
        # heard of it while Technical support had it.
        heard = await receive(billing)
        assert (heard["type"], heard["ticket_id"]) == (
            events.TICKET_REASSIGNED,
            first.pk,
        )
        assert heard["to_team_id"] == teams["billing"].pk
        # Technical support hears it leave, so it leaves their queue.
        heard = await receive(tech)
        assert (heard["type"], heard["from_team_id"]) == (
            events.TICKET_REASSIGNED,
            teams["tech"].pk,
        )
        assert (await receive(boss))["type"] == events.TICKET_REASSIGNED
        assert await boss.receive_nothing()
        for socket in (tech, billing, boss):
            await socket.disconnect()

    async_to_sync(scenario)()


def _move(ticket, team, actor):
    ticket.refresh_from_db()
    do_reassign_ticket(ticket=ticket, to_team=team, actor=actor, reason="Billing")


def test_watching_a_ticket_of_another_team_is_refused(teams, tech_agent, billing_agent):
    ticket = new_ticket("Printer on fire")

    as_billing = headers_for(billing_agent)

    async def scenario():
        billing = await connected(as_billing)
        await billing.send_json_to({"action": "watch_ticket", "ticket_id": ticket.pk})
        refused = await receive(billing)
        assert refused == {
            "type": "error",
            "action": "watch_ticket",
            "error": "not_found",
            "ticket_id": ticket.pk,
        }
        # Nor does typing on it reach anyone.
        await billing.send_json_to({"action": "typing", "ticket_id": ticket.pk})
        assert (await receive(billing))["error"] == "not_watching"
        await billing.disconnect()

    async_to_sync(scenario)()


def test_watchers_of_a_ticket_see_each_other_and_who_is_typing(
    teams, tech_agent, colleague
):
    ticket = new_ticket("Printer on fire")

    as_tech = headers_for(tech_agent)
    as_colleague = headers_for(colleague)

    async def scenario():
        first = await watching(as_tech, ticket)
        second = await watching(as_colleague, ticket)
        arrived = await receive(first)
        assert arrived == {
            "type": "presence",
            "ticket_id": ticket.pk,
            "agent_id": colleague.pk,
            "name": "Tess",
            "state": "viewing",
        }
        # The newcomer learns who was already there.
        already = await receive(second)
        assert (already["agent_id"], already["state"]) == (tech_agent.pk, "viewing")

        await second.send_json_to({"action": "typing", "ticket_id": ticket.pk})
        typing = await receive(first)
        assert (typing["agent_id"], typing["state"]) == (colleague.pk, "typing")

        await second.send_json_to({"action": "unwatch_ticket"})
        left = await receive(first)
        assert (left["agent_id"], left["state"]) == (colleague.pk, "left")
        for socket in (first, second):
            await socket.disconnect()

    async_to_sync(scenario)()


def test_a_repeated_watch_does_not_tell_the_others_the_agent_left(
    teams, tech_agent, colleague
):
    """Watching the same ticket again is confirmed, and nobody hears "left"."""
    ticket = new_ticket("Printer on fire")

    as_tech = headers_for(tech_agent)
    as_colleague = headers_for(colleague)

    async def scenario():
        first = await watching(as_tech, ticket)
        second = await connected(as_colleague)
        watch = {"action": "watch_ticket", "ticket_id": ticket.pk}
        await second.send_json_to(watch)
        await second.send_json_to(watch)

        arrived = await receive(first)
        assert (arrived["agent_id"], arrived["state"]) == (colleague.pk, "viewing")
        assert await first.receive_nothing(timeout=1)
        heard = [await receive(second) for _ in range(3)]
        assert heard.count({"type": "watching", "ticket_id": ticket.pk}) == 2
        for socket in (first, second):
            await socket.disconnect()

    async_to_sync(scenario)()


def test_a_watched_ticket_moved_to_another_team_goes_quiet(
    teams, tech_agent, supervisor
):
    """Once the ticket is another team's, its watcher hears nothing more of it."""
    ticket = new_ticket("Printer on fire")

    as_tech = headers_for(tech_agent)

    async def scenario():
        tech = await watching(as_tech, ticket)
        await sync_to_async(_move)(ticket, teams["billing"], supervisor)
        moved = await receive(tech)
        assert (moved["type"], moved["ticket_id"]) == (
            events.TICKET_REASSIGNED,
            ticket.pk,
        )
        assert await receive(tech) == {
            "type": "error",
            "action": "watch_ticket",
            "error": "not_found",
            "ticket_id": ticket.pk,
        }
        await sync_to_async(_change_priority)(ticket, supervisor)
        assert await tech.receive_nothing(timeout=1)
        await tech.disconnect()

    async_to_sync(scenario)()


def test_a_watched_ticket_of_the_team_brings_each_event_once(
    teams, tech_agent, supervisor
):
    """The team's, the ticket's and the customer's groups all carry the change."""
    ticket = new_ticket("Printer on fire")

    as_tech = headers_for(tech_agent)

    async def scenario():
        tech = await watching(as_tech, ticket)
        await sync_to_async(_change_priority)(ticket, supervisor)
        heard = [await receive(tech), await receive(tech)]
        assert [(e["type"], e["ticket_id"]) for e in heard] == [
            (events.TIMELINE_EVENT_CREATED, ticket.pk),
            (events.TICKET_UPDATED, ticket.pk),
        ]
        assert heard[1]["priority"] == "urgent"
        assert await tech.receive_nothing()
        await tech.disconnect()

    async_to_sync(scenario)()


def _change_priority(ticket, actor):
    do_change_priority(ticket=ticket, priority="urgent", actor=actor)


def test_a_ping_answers_pong_and_shows_the_agent_online(teams, tech_agent):
    """The desk's ping keeps the agent shown as online to chat visitors."""
    as_tech = headers_for(tech_agent)

    async def scenario():
        tech = await connected(as_tech)
        # Connecting shows the agent online; forget it so the ping alone counts.
        await sync_to_async(Agent.objects.filter(pk=tech_agent.pk).update)(
            desk_seen_at=None
        )
        await tech.send_json_to({"action": "ping"})
        assert await receive(tech) == {"type": "pong"}
        await tech.disconnect()

    async_to_sync(scenario)()
    assert Agent.objects.get(pk=tech_agent.pk).desk_seen_at is not None


def test_a_frame_that_is_not_json_gets_an_error_and_the_socket_stays_open(
    teams, tech_agent
):
    """50,000 nested brackets, broken JSON or bytes get an error frame; the
    socket is not closed (never with 1011) and still answers."""
    as_tech = headers_for(tech_agent)

    async def scenario():
        tech = await connected(as_tech)
        errors = []
        for frame in (
            {"text_data": "[" * 50_000 + "]" * 50_000},
            {"text_data": "{oops"},
            {"bytes_data": b"\x00"},
        ):
            await tech.send_to(**frame)
            errors.append(await receive(tech))
        await tech.send_json_to({"action": "ping"})
        pong = await receive(tech)
        await tech.disconnect()
        return errors, pong

    errors, pong = async_to_sync(scenario)()

    assert [(e["type"], e["error"]) for e in errors] == [("error", "invalid")] * 3
    assert "nested deeper than" in errors[0]["message"]
    assert pong == {"type": "pong"}


# ------------------------------------------------------------------ notes, live

NOTE = "Tech only: her router serial is RX-4471"


def _anas_two_tickets(teams):
    """Ana's Technical-support ticket and her Billing ticket."""
    RoutingRuleFactory(team=teams["billing"], keywords=["invoice"])
    tech = new_ticket("My router keeps dropping")
    billing = new_ticket("Please fix my invoice")
    assert (tech.team, billing.team) == (teams["tech"], teams["billing"])
    return tech, billing


def _note(ticket, author):
    do_add_note(ticket=ticket, author=author, text=NOTE)


def _reply(ticket, author):
    do_reply(ticket=ticket, author=author, text="Restart it, please.")


async def _until(socket, wanted_type: str) -> list[dict]:
    """What the socket hears up to and with the first event of a type."""
    heard = [await receive(socket)]
    while heard[-1]["type"] != wanted_type:
        heard.append(await receive(socket))
    return heard


def test_a_note_reaches_live_only_those_who_may_see_its_ticket(
    teams, tech_agent, billing_agent, supervisor
):
    """A Billing agent on Ana's Billing ticket hears her other ticket's reply
    (one timeline) but never its note; its team and a supervisor hear both."""
    tech_ticket, billing_ticket = _anas_two_tickets(teams)
    as_tech = headers_for(tech_agent)
    as_billing = headers_for(billing_agent)
    as_supervisor = headers_for(supervisor)

    async def scenario():
        billing = await watching(as_billing, billing_ticket)
        tech = await watching(as_tech, tech_ticket)
        boss = await connected(as_supervisor)
        await sync_to_async(_note)(tech_ticket, tech_agent)
        await sync_to_async(_reply)(tech_ticket, tech_agent)
        heard = {
            "billing": await _until(billing, events.MESSAGE_CREATED),
            "tech": await _until(tech, events.MESSAGE_CREATED),
            "boss": await _until(boss, events.MESSAGE_CREATED),
        }
        for socket in (billing, tech, boss):
            await socket.disconnect()
        return heard

    heard = async_to_sync(scenario)()

    def notes(events_heard):
        return [e["text"] for e in events_heard if e.get("kind") == "note"]

    assert heard["billing"][-1]["ticket_id"] == tech_ticket.pk
    assert notes(heard["billing"]) == []
    assert notes(heard["tech"]) == [NOTE]
    assert notes(heard["boss"]) == [NOTE]


def test_an_agent_who_left_the_team_no_longer_hears_its_notes(
    teams, tech_agent, colleague
):
    """Groups are joined when the socket connects; each note is checked against
    the rule again as it arrives."""
    tech_ticket = new_ticket("Printer on fire")
    as_colleague = headers_for(colleague)

    async def scenario():
        socket = await connected(as_colleague)
        await sync_to_async(colleague.teams.remove)(teams["tech"])
        await sync_to_async(_note)(tech_ticket, tech_agent)
        await sync_to_async(_reply)(tech_ticket, tech_agent)
        heard = await _until(socket, events.MESSAGE_CREATED)
        await socket.disconnect()
        return heard

    heard = async_to_sync(scenario)()

    assert [e for e in heard if e.get("kind") == "note"] == []
