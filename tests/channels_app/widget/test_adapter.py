"""The chat channel's adapter: stored envelopes in, the visitor's stream out. An
envelope that cannot be processed stays stored, failed and replayable."""

import json
from io import StringIO

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.management import call_command
from django.test import TestCase, override_settings

from channels_app.adapters.chat import ChatAdapter
from channels_app.ingest import process_inbound, receive_inbound
from channels_app.models import ChatEntry, InboundRecord
from channels_app.widget import door
from tests.channels_app.widget.conftest import ticket_of
from tickets.actions.tickets import (
    do_add_note,
    do_change_status,
    do_reply,
    do_resolve_ticket,
)
from tickets.inbound import DeliveryUpdate
from tickets.models import TicketRating, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)

Status = InboundRecord.Status


def envelope(visitor, kind: str, data: dict, **extra) -> bytes:
    return json.dumps(
        {"visitor": visitor.public_id.hex, "kind": kind, "data": data, **extra}
    ).encode()


def stored(payload: bytes, external_id: str) -> InboundRecord:
    """A chat envelope through the door, processed as its task would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        record, _ = receive_inbound(
            channel="chat", payload=payload, external_id=external_id, inbox="shop"
        )
    record.refresh_from_db()
    return record


def test_an_envelope_that_fails_stays_failed_and_is_replayed_once(
    widget, teams, settings
):
    """A message whose processing fails is kept, failed, with the reason; the
    widget's socket sees nothing of it. Replayed once the cause is fixed, it
    reaches the stream once; replaying again changes nothing."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        with override_settings(MAX_MESSAGE_TEXT_CHARS=5):
            await widget.send(type="message", client_id="c1", text="Too long here")
            ack = await widget.receive_until("ack")
        nothing_shown = await widget.hears_nothing()
        record = await sync_to_async(InboundRecord.objects.get)()
        output = StringIO()
        await sync_to_async(call_command)("replay_inbound", stdout=output)
        entry = (await widget.receive_until("entry"))["entry"]
        await sync_to_async(call_command)(
            "replay_inbound", "--id", str(record.pk), stdout=output
        )
        quiet = await widget.hears_nothing()
        await widget.close()
        return ack, nothing_shown, record, entry, quiet, output.getvalue()

    ack, nothing_shown, failed, entry, quiet, output = async_to_sync(scenario)()

    assert ack["duplicate"] is False and nothing_shown
    assert failed.status == Status.FAILED and "limit" in failed.error
    assert (entry["seq"], entry["text"]) == (1, "Too long here")
    assert "failed → processed" in output and "processed, not replayed" in output
    assert quiet
    assert InboundRecord.objects.get().status == Status.PROCESSED
    assert TimelineEvent.objects.filter(kind="message_in").count() == 1
    assert ChatEntry.objects.count() == 1


@pytest.mark.django_db
def test_an_envelope_of_an_unknown_visitor_fails_visibly(widget):
    """An envelope naming no visitor of the desk is kept as failed, with why."""
    widget.start(name="Ana")
    payload = json.dumps(
        {"visitor": "0" * 32, "kind": "message", "data": {"client_id": "c1"}}
    ).encode()

    record = stored(payload, "x:c1")

    assert record.status == Status.FAILED
    assert "no chat visitor" in record.error


@pytest.mark.django_db
def test_an_envelope_of_an_unknown_kind_is_kept_as_unsupported(widget):
    """A kind the adapter does not know is never dropped silently."""
    widget.start(name="Ana")

    record = stored(envelope(widget.visitor(), "poke", {}), "x:poke")

    assert record.status == Status.UNSUPPORTED
    assert "poke" in record.error


@pytest.mark.django_db
def test_a_malformed_envelope_fails_visibly():
    """Whatever is stored, processing it either works or leaves it failed."""
    for number, payload in enumerate(
        [b"not json", b"[]", b'{"visitor": "x"}', b'{"visitor": "x", "kind": "x"}']
    ):
        record = stored(payload, f"bad:{number}")

        assert record.status == Status.FAILED and record.error, payload


def test_a_rating_envelope_for_a_reopened_ticket_fails_visibly(
    widget, teams, tech_agent
):
    """A stored rating of a ticket that is open again is not applied: the record
    is failed with the reason, and the ticket stays unrated."""
    widget.start(name="Ana")
    visitor = widget.visitor()
    door.receive_message(visitor=visitor, data={"client_id": "c1", "text": "Hi"})
    ticket = ticket_of(widget)
    do_resolve_ticket(ticket=ticket, actor=tech_agent, resolution_note="Done.")
    resolved = ChatEntry.objects.get(kind="resolved")
    do_change_status(ticket=ticket, status="open", actor=tech_agent)

    record = stored(
        envelope(visitor, "rating", {"seq": resolved.seq, "score": 5}), "x:rate"
    )

    assert record.status == Status.FAILED
    assert "resolved" in record.error
    assert not TicketRating.objects.exists()
    assert not ChatEntry.objects.filter(kind="rating").exists()


def test_a_rating_envelope_naming_another_visitors_entry_fails(
    widget, new_widget, teams, tech_agent
):
    """A rating is looked up on the envelope's own visitor's stream only."""
    other = new_widget()
    other.start(name="Bo")
    door.receive_message(
        visitor=other.visitor(), data={"client_id": "c1", "text": "Hi"}
    )
    do_resolve_ticket(
        ticket=ticket_of(other), actor=tech_agent, resolution_note="Done."
    )
    theirs = ChatEntry.objects.get(kind="resolved")
    widget.start(name="Ana")

    record = stored(
        envelope(widget.visitor(), "rating", {"seq": theirs.seq, "score": 1}), "x:r"
    )

    assert record.status == Status.FAILED
    assert not TicketRating.objects.exists()


def test_a_receipt_reports_only_the_agents_messages_in_its_range(
    widget, teams, tech_agent
):
    """A receipt becomes delivery updates for the agents' replies it covers, and
    none for the visitor's own messages or entries outside it."""
    widget.start(name="Ana")
    visitor = widget.visitor()
    door.receive_message(visitor=visitor, data={"client_id": "c1", "text": "Hi"})
    ticket = ticket_of(widget)
    first = do_reply(ticket=ticket, author=tech_agent, text="One")
    second = do_reply(ticket=ticket, author=tech_agent, text="Two")
    first.refresh_from_db()
    second.refresh_from_db()

    updates = ChatAdapter().parse(
        envelope(visitor, "receipt", {"delivered": 3, "delivered_from": 2})
    )

    assert updates == [
        DeliveryUpdate(
            channel="chat", external_id=second.external_id, status="delivered"
        )
    ]
    assert first.external_id != second.external_id


def test_internal_notes_and_agent_only_changes_never_reach_the_visitor(
    widget, teams, tech_agent
):
    """A note, a status other than resolved and the resolution note stay in the
    desk: the visitor's stream has only the messages and the resolution."""
    widget.start(name="Ana")
    door.receive_message(
        visitor=widget.visitor(), data={"client_id": "c1", "text": "Hi"}
    )
    ticket = ticket_of(widget)

    do_add_note(ticket=ticket, author=tech_agent, text="Customer seems upset")
    do_change_status(ticket=ticket, status="pending", actor=tech_agent)
    do_resolve_ticket(ticket=ticket, actor=tech_agent, resolution_note="Refunded.")
    do_change_status(ticket=ticket, status="closed", actor=tech_agent)

    async def backlog():
        _, entries, _ = await widget.connect()
        await widget.close()
        return entries

    shown = async_to_sync(backlog)()
    assert [entry["kind"] for entry in shown] == ["message", "resolved"]
    assert "upset" not in str(shown) and "Refunded" not in str(shown)


def test_process_inbound_of_a_processed_envelope_changes_nothing(widget, teams):
    """Processing a stored message again adds no event and no entry."""
    widget.start(name="Ana")
    record, _ = door.receive_message(
        visitor=widget.visitor(), data={"client_id": "c1", "text": "Hi"}
    )

    process_inbound(record.pk)
    InboundRecord.objects.filter(pk=record.pk).update(status=Status.FAILED)
    process_inbound(record.pk, replay=True)

    assert TimelineEvent.objects.filter(kind="message_in").count() == 1
    assert ChatEntry.objects.count() == 1


def test_characters_the_database_cannot_hold_do_not_lose_the_message(
    widget, teams, tech_agent
):
    """A NUL or a lone surrogate in what a visitor types is dropped from the text;
    the message itself, and a rating's comment, are kept."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        await widget.send(
            type="message",
            client_id="c1",
            text="Hi\x00 there\ud800!",
            host="http://shop.example\x00",
        )
        entry = (await widget.receive_until("entry"))["entry"]
        ticket = await sync_to_async(ticket_of)(widget)
        await sync_to_async(do_resolve_ticket)(
            ticket=ticket, actor=tech_agent, resolution_note="Done."
        )
        resolved = (await widget.receive_until("entry"))["entry"]
        await widget.send(
            type="rate", seq=resolved["seq"], score=4, comment="Good\x00 job"
        )
        rating = (await widget.receive_until("entry"))["entry"]
        await widget.close()
        return entry, rating

    entry, rating = async_to_sync(scenario)()

    assert entry["text"].startswith("Hi there") and "\x00" not in entry["text"]
    assert rating["comment"] == "Good job"
    assert TicketRating.objects.get().comment == "Good job"
    assert set(InboundRecord.objects.values_list("status", flat=True)) == {
        Status.PROCESSED
    }
