"""The visitor's stream: files on live entries and on entries read back, and what
reading a page of entries costs."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.widget.entries import entries_between
from tests.channels_app.widget.test_upload import PNG, png

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_file_sent_while_connected_arrives_live_with_its_link(widget, teams):
    """The live entry of an upload carries the file's signed link, the same one
    the stream gives when read back, and the link serves the file."""
    widget.start(name="Ana")

    async def scenario():
        await widget.connect()
        await sync_to_async(widget.upload)(client_id="f-1", file=png(), text="Look")
        live = (await widget.receive_until("entry"))["entry"]
        await widget.close()
        return live

    live = async_to_sync(scenario)()

    [attachment] = live["attachments"]
    visitor = widget.visitor()
    [stored] = entries_between(visitor, 0, visitor.last_seq)
    assert attachment["url"] == stored["attachments"][0]["url"]
    assert widget.client.get(attachment["url"]).content == PNG


def test_a_page_of_entries_costs_the_same_queries_however_many_files(widget, teams):
    """Reading entries back takes a fixed number of queries: files and the links
    to them are not looked up entry by entry."""
    widget.start(name="Ana")
    widget.upload(client_id="f-1", file=png(), text="one")
    visitor = widget.visitor()
    with CaptureQueriesContext(connection) as one_file:
        entries_between(visitor, 0, visitor.last_seq)
    for number in range(2, 5):
        widget.upload(client_id=f"f-{number}", file=png(f"{number}.png"))
    visitor.refresh_from_db()

    with CaptureQueriesContext(connection) as four_files:
        page = entries_between(visitor, 0, visitor.last_seq)

    assert [len(entry["attachments"]) for entry in page] == [1, 1, 1, 1]
    assert len(four_files) == len(one_file)
