import pytest
from django.test import TestCase

from channels_app.adapters.meta import SIGNATURE_HEADER
from channels_app.models import InboundRecord
from tests.bench.webhook import (
    SignedMessages,
    bench_inbox,
    text_message_template,
)
from tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db


class ClientConnection:
    """The bench's sender talking to Django's test client instead of a socket."""

    def __init__(self, client):
        self.client = client

    def request(self, method, path, body, headers):
        assert method == "POST"
        # Whatever the door queues runs, as a worker would run it.
        with TestCase.captureOnCommitCallbacks(execute=True):
            self.response = self.client.post(
                path,
                data=body,
                content_type=headers["Content-Type"],
                headers={SIGNATURE_HEADER: headers[SIGNATURE_HEADER]},
            )

    def getresponse(self):
        response = self.response
        response.status = response.status_code
        response.read = lambda: response.content
        return response


def test_the_bench_messages_pass_the_real_door_each_as_a_new_message(
    client, corpus_dir, teams
):
    inbox = bench_inbox()
    messages = SignedMessages(
        template=text_message_template(corpus_dir),
        run="test",
        senders=["14155550123", "14155550124"],
        path=f"/webhooks/whatsapp/{inbox.slug}/",
    )
    connection = ClientConnection(client)

    answers = [messages.send(connection, number) for number in range(3)]

    assert [status for status, _ in answers] == [200, 200, 200]
    records = InboundRecord.objects.filter(pk__in=[pk for _, pk in answers])
    assert records.count() == 3
    assert set(records.values_list("status", flat=True)) == {"processed"}
    events = TimelineEvent.objects.filter(channel="whatsapp")
    assert sorted(events.values_list("external_id", flat=True)) == [
        "wamid.bench-test-0",
        "wamid.bench-test-1",
        "wamid.bench-test-2",
    ]
    # Two senders: the third message continues the first one's conversation.
    assert events.values("ticket").distinct().count() == 2


def test_a_message_signed_with_another_secret_is_refused(client, corpus_dir):
    inbox = bench_inbox()
    inbox.secrets = {**inbox.secrets, "app_secret": "rotated"}
    inbox.save(update_fields=["secrets"])
    messages = SignedMessages(
        template=text_message_template(corpus_dir),
        run="test",
        senders=["14155550123"],
        path=f"/webhooks/whatsapp/{inbox.slug}/",
    )

    status, record = messages.send(ClientConnection(client), 0)

    assert (status, record) == (403, None)
    assert not InboundRecord.objects.exists()
