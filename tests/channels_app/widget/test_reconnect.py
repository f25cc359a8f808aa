"""Never lose a message: stored once however often it is sent, numbered, and
replayed from the number the widget last had."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from channels_app.models import ChatEntry, InboundRecord
from channels_app.widget import door, entries
from supportdesk.oncommit import publish_now
from tests.channels_app.widget.conftest import ticket_of
from tickets.actions.tickets import do_reply
from tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_message_sent_three_times_is_stored_once(widget, teams):
    """The same client id sent three times (a widget resending after a drop) is
    one raw record, one timeline event and one entry, shown once."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        acks, shown = [], []
        for _ in range(3):
            await widget.send(type="message", client_id="m-1", text="Hello?")
            while (item := await widget.receive())["type"] != "ack":
                shown.append(item["entry"])
            acks.append(item)
        while not await widget.hears_nothing():
            shown.append((await widget.receive())["entry"])
        await widget.close()
        # Resent once more on another socket, after reconnecting.
        _, backlog, _ = await widget.connect(last_seq=1)
        await widget.send(type="message", client_id="m-1", text="Hello?")
        acks.append(await widget.receive())
        quiet = await widget.hears_nothing()
        await widget.close()
        return acks, shown, backlog, quiet

    acks, shown, backlog, quiet = async_to_sync(scenario)()

    assert [ack["duplicate"] for ack in acks] == [False, True, True, True]
    assert {ack["client_id"] for ack in acks} == {"m-1"}
    assert [(entry["seq"], entry["client_id"]) for entry in shown] == [(1, "m-1")]
    assert backlog == [] and quiet
    assert InboundRecord.objects.filter(channel="chat").count() == 1
    assert TimelineEvent.objects.filter(kind="message_in").count() == 1
    assert ChatEntry.objects.count() == 1


def test_replies_sent_while_the_socket_is_closed_arrive_once_in_order(
    widget, teams, tech_agent
):
    """The socket drops; the agent sends five replies; the widget reconnects with
    the last number it had and gets exactly those five, in order, once."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        await widget.send(type="message", client_id="q", text="My order is late")
        last_seq = (await widget.receive_until("entry"))["entry"]["seq"]
        await widget.close()

        ticket = await sync_to_async(ticket_of)(widget)
        for number in range(1, 6):
            await sync_to_async(do_reply)(
                ticket=ticket, author=tech_agent, text=f"Reply {number}"
            )

        ready, backlog, synced = await widget.connect(last_seq=last_seq)
        quiet = await widget.hears_nothing()
        await widget.close()
        return last_seq, ready, backlog, synced, quiet

    last_seq, ready, backlog, synced, quiet = async_to_sync(scenario)()

    assert last_seq == 1 and ready["last_seq"] == 6
    assert [(entry["seq"], entry["text"]) for entry in backlog] == [
        (number + 1, f"Reply {number}") for number in range(1, 6)
    ]
    assert {entry["from"] for entry in backlog} == {"agent"}
    assert synced == {"type": "synced", "last_seq": 6, "has_more": False}
    assert quiet
    replies = TimelineEvent.objects.filter(kind="message_out")
    assert set(replies.values_list("delivery_status", flat=True)) == {"sent"}


def test_replies_while_the_socket_is_open_arrive_live_in_order(
    widget, teams, tech_agent
):
    """An agent's replies reach an open widget as they are sent, each once, with
    the agent's name and avatar."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        await widget.send(type="message", client_id="q", text="Hi")
        await widget.receive_until("entry")
        ticket = await sync_to_async(ticket_of)(widget)
        for number in range(3):
            await sync_to_async(do_reply)(
                ticket=ticket, author=tech_agent, text=f"Live {number}"
            )
        live = [(await widget.receive_until("entry"))["entry"] for _ in range(3)]
        quiet = await widget.hears_nothing()
        await widget.close()
        return live, quiet

    live, quiet = async_to_sync(scenario)()
    assert [(entry["seq"], entry["text"]) for entry in live] == [
        (2, "Live 0"),
        (3, "Live 1"),
        (4, "Live 2"),
    ]
    name = tech_agent.get_full_name() or tech_agent.username
    assert live[0]["agent"]["name"] == name
    assert (
        live[0]["agent"]["initials"]
        == "".join(word[0] for word in name.split()[:2]).upper()
    )
    assert quiet


def test_live_entries_arriving_out_of_order_are_shown_in_order(
    widget, teams, monkeypatch
):
    """When the publication of a later entry overtakes earlier ones, the socket
    fills the gap from the database and drops the late copies."""
    widget.start(name="Ana")
    visitor = widget.visitor()
    held = []

    def three_unpublished():
        with monkeypatch.context() as patch:
            patch.setattr(
                entries,
                "publish_on_commit",
                lambda event, groups: held.append((event, groups)),
            )
            for _ in range(3):
                entries.append_entry(visitor_id=visitor.pk, kind="resolved")

    async def scenario():
        await widget.connect()
        await sync_to_async(three_unpublished)()
        await sync_to_async(publish_now)(*held[2])
        filled = [(await widget.receive())["entry"]["seq"] for _ in range(3)]
        await sync_to_async(publish_now)(*held[0])
        await sync_to_async(publish_now)(*held[1])
        late_dropped = await widget.hears_nothing()
        await sync_to_async(entries.append_entry)(
            visitor_id=visitor.pk, kind="resolved"
        )
        after = (await widget.receive())["entry"]["seq"]
        await widget.close()
        return filled, late_dropped, after

    filled, late_dropped, after = async_to_sync(scenario)()
    assert filled == [1, 2, 3]
    assert late_dropped
    assert after == 4


def test_a_reconnect_ahead_of_the_server_replays_nothing(widget, teams):
    """A last_seq past the visitor's last entry (or not a number) is treated as
    what the server has: nothing is replayed and the socket works."""
    widget.start(name="Ana")
    visitor = widget.visitor()
    entries.append_entry(visitor_id=visitor.pk, kind="resolved")

    async def scenario():
        results = [await widget.connect(last_seq=99)]
        await widget.close()
        assert await widget.open_socket()
        await widget.send(type="hello", token=widget.token, last_seq="1")
        ready = await widget.receive()
        backlog = []
        while (item := await widget.receive())["type"] != "synced":
            backlog.append(item["entry"])
        results.append((ready, backlog, item))
        await widget.close()
        return results

    ahead, not_a_number = async_to_sync(scenario)()
    ready, backlog, synced = ahead
    assert (ready["last_seq"], backlog, synced["last_seq"]) == (1, [], 1)
    # Not a number: a fresh load, which gets the newest page.
    ready, backlog, synced = not_a_number
    assert [entry["seq"] for entry in backlog] == [1]


def test_entries_are_numbered_per_visitor_from_one_without_gaps(
    widget, new_widget, teams
):
    """Each visitor's stream counts from 1; an event already on a stream is not
    numbered again."""
    widget.start(name="Ana")
    other = new_widget()
    other.start(name="Bo")
    ana, bo = widget.visitor(), other.visitor()

    for visitor in (ana, bo, ana):
        entries.append_entry(visitor_id=visitor.pk, kind="resolved")
    door.receive_message(visitor=ana, data={"client_id": "c1", "text": "Hi"})
    event = TimelineEvent.objects.get(kind="message_in")
    again = entries.append_entry(visitor_id=ana.pk, kind="message", event=event)

    assert again.seq == 3 and again.event == event
    assert list(ana.entries.values_list("seq", flat=True)) == [1, 2, 3]
    assert list(bo.entries.values_list("seq", flat=True)) == [1]
    ana.refresh_from_db()
    assert ana.last_seq == 3
