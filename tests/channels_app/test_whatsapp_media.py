import pytest

from channels_app.ingest import process_inbound
from channels_app.models import InboundRecord
from tests.channels_app.meta_support import (
    ACCESS_TOKEN,
    VERSION,
    delivered,
    first_message,
    serve_media,
    whatsapp_example,
)
from tests.provider_server import Reply
from tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4 a small document"


def event_of(record: InboundRecord) -> TimelineEvent:
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    return TimelineEvent.objects.get(pk=record.event_ids[0])


def test_a_document_is_fetched_through_graph_with_the_inbox_token(
    client, whatsapp_inbox, corpus_dir, graph, teams
):
    serve_media(
        graph, content=PDF, info={"mime_type": "application/pdf", "file_size": len(PDF)}
    )
    payload = whatsapp_example(corpus_dir, "message", "document")

    event = event_of(delivered(client, "whatsapp", payload))

    assert event.text == "caption"
    [attachment] = event.attachments.all()
    assert (attachment.name, attachment.content_type) == (
        "filename.pdf",
        "application/pdf",
    )
    assert bytes(attachment.data) == PDF
    info, download = graph.requests
    assert (info.method, info.path) == ("GET", f"/{VERSION}/1234567890987654321")
    assert (download.method, download.path) == ("GET", "/media/1234567890987654321")
    for request in (info, download):
        assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert event.metadata["media"]["type"] == "document"


def test_media_without_a_caption_is_labelled_and_named_by_its_type(
    client, whatsapp_inbox, corpus_dir, graph, teams
):
    serve_media(graph, content=b"OggS voice", content_type="audio/ogg")
    payload = whatsapp_example(corpus_dir, "message", "voice")

    event = event_of(delivered(client, "whatsapp", payload))

    assert event.text == "[voice message]"
    [attachment] = event.attachments.all()
    assert attachment.name.startswith("audio-1234567890987654321")
    assert attachment.content_type == "audio/ogg"
    assert bytes(attachment.data) == b"OggS voice"


def test_media_declared_too_large_is_a_note_and_is_not_downloaded(
    client, whatsapp_inbox, corpus_dir, graph, settings, teams
):
    settings.MAX_MEDIA_BYTES = 1000
    serve_media(graph, info={"mime_type": "video/mp4", "file_size": 5000})
    payload = whatsapp_example(corpus_dir, "message", "video")

    event = event_of(delivered(client, "whatsapp", payload))

    assert event.text == "caption"
    assert not event.attachments.exists()
    [note] = event.metadata["notes"]
    assert "5000 bytes" in note and "1000-byte limit" in note
    assert [request.path for request in graph.requests] == [f"/{VERSION}/765756756"]


def test_media_that_turns_out_too_large_when_downloaded_is_a_note(
    client, whatsapp_inbox, corpus_dir, graph, settings, teams
):
    settings.MAX_MEDIA_BYTES = 1000
    # Graph announces no size: the download's own length gives it away.
    serve_media(graph, content=b"x" * 5000, content_type="image/jpeg")
    payload = whatsapp_example(corpus_dir, "message", "image")

    event = event_of(delivered(client, "whatsapp", payload))

    assert event.text == "[image]"
    assert not event.attachments.exists()
    assert "1000-byte limit" in event.metadata["notes"][0]


def test_media_of_a_type_not_allowed_is_a_note_without_bytes(
    client, whatsapp_inbox, corpus_dir, graph, teams
):
    serve_media(graph, info={"mime_type": "application/x-msdownload"})
    payload = whatsapp_example(corpus_dir, "message", "document")
    first_message(payload)["document"]["mime_type"] = "application/x-msdownload"

    event = event_of(delivered(client, "whatsapp", payload))

    assert not event.attachments.exists()
    assert (
        "application/x-msdownload is not an allowed media type"
        in (event.metadata["notes"][0])
    )
    assert not any(r.path.startswith("/media/") for r in graph.requests)


def test_a_failed_media_fetch_fails_the_record_which_can_be_replayed(
    client, whatsapp_inbox, corpus_dir, graph, teams
):
    graph.route(
        "GET",
        f"/{VERSION}/",
        Reply(
            status=500,
            body={"error": {"message": "An unexpected error has occurred.", "code": 2}},
        ),
    )
    payload = whatsapp_example(corpus_dir, "message", "document")

    record = delivered(client, "whatsapp", payload)

    assert record.status == InboundRecord.Status.FAILED
    assert "An unexpected error has occurred." in record.error
    assert not TimelineEvent.objects.exists()

    serve_media(graph, content=PDF, info={"mime_type": "application/pdf"})
    record = process_inbound(record.pk, replay=True)

    assert record.status == InboundRecord.Status.PROCESSED
    assert bytes(event_of(record).attachments.get().data) == PDF


def test_media_already_on_the_timeline_is_not_fetched_again(
    client, whatsapp_inbox, corpus_dir, graph, teams
):
    serve_media(graph, content=PDF, info={"mime_type": "application/pdf"})
    payload = whatsapp_example(corpus_dir, "message", "document")
    first = event_of(delivered(client, "whatsapp", payload))
    fetches = len(graph.requests)
    payload["entry"][0]["time"] = 1700000000

    again = event_of(delivered(client, "whatsapp", payload))

    assert again == first
    assert len(graph.requests) == fetches


def test_a_malformed_media_id_is_never_sent_to_graph_with_the_token(
    client, whatsapp_inbox, corpus_dir, graph, teams
):
    """A media id is a number: anything else never becomes a Graph path."""
    serve_media(graph, content=PDF, info={"mime_type": "application/pdf"})
    payload = whatsapp_example(corpus_dir, "message", "document")
    first_message(payload)["document"]["id"] = "../me/accounts"

    event = event_of(delivered(client, "whatsapp", payload))

    assert graph.requests == []
    assert not event.attachments.exists()
    assert event.metadata["notes"] == [
        "The document has a malformed media id: not downloaded."
    ]
