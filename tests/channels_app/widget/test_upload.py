"""Files from the visitor: within the size and type allow-list, stored with the
message once, and served only at the link signed for that visitor."""

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile

from channels_app.models import ChatEntry, InboundRecord
from tickets.models import Attachment, TimelineEvent

pytestmark = pytest.mark.django_db(transaction=True)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def png(name: str = "screen.png", content: bytes = PNG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def first_entry(widget) -> dict:
    async def scenario():
        _, backlog, _ = await widget.connect()
        await widget.close()
        return backlog[0]

    return async_to_sync(scenario)()


def test_a_file_is_stored_with_its_message_and_served_to_its_link(widget, teams):
    """An allowed file arrives with the message's text as one entry; its signed
    link serves the bytes, as a download that cannot run or be sniffed."""
    widget.start(name="Ana")

    response = widget.upload(client_id="f-1", file=png(), text="See the error")

    assert response.status_code == 202
    assert response.json() == {"client_id": "f-1", "duplicate": False}
    entry = first_entry(widget)
    assert (entry["text"], entry["client_id"], entry["from"]) == (
        "See the error",
        "f-1",
        "visitor",
    )
    [attachment] = entry["attachments"]
    assert (attachment["name"], attachment["content_type"], attachment["size"]) == (
        "screen.png",
        "image/png",
        len(PNG),
    )
    event = TimelineEvent.objects.get(kind="message_in")
    assert event.attachments.get().name == "screen.png"

    served = widget.client.get(attachment["url"])
    assert served.status_code == 200
    assert served.content == PNG
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    assert "default-src 'none'" in served["Content-Security-Policy"]


def test_a_text_file_is_served_as_a_download(widget, teams):
    """A file that is not an image is sent as an attachment, never shown inline,
    with a name stripped of anything a header could misread."""
    widget.start(name="Ana")
    upload = SimpleUploadedFile(
        'notes"\r\nX-Evil: 1.txt', b"<script>alert(1)</script>", "text/plain"
    )

    assert widget.upload(client_id="f-1", file=upload).status_code == 202
    url = first_entry(widget)["attachments"][0]["url"]
    served = widget.client.get(url)

    assert served["Content-Disposition"].startswith("attachment;")
    assert "\r" not in served["Content-Disposition"]
    assert '"' not in served["Content-Disposition"].split("filename=")[1][1:-1]
    assert served["X-Content-Type-Options"] == "nosniff"


def test_a_file_link_works_only_as_signed_for_its_visitor(
    widget, new_widget, teams, chat_inbox
):
    """Another visitor cannot reach a file by changing the id or signature in a
    link: a wrong signature, another file's signature or another inbox is a 404."""
    widget.start(name="Ana")
    widget.upload(client_id="f-1", file=png("ana.png"))
    other = new_widget()
    other.start(name="Bo")
    other.upload(client_id="f-1", file=png("bo.png"))
    ana_url = first_entry(widget)["attachments"][0]["url"]
    bo_url = first_entry(other)["attachments"][0]["url"]
    ana_id = Attachment.objects.get(name="ana.png").pk
    bo_id = Attachment.objects.get(name="bo.png").pk
    bo_signature = bo_url.rstrip("/").rpartition("/")[2]

    assert other.client.get(bo_url).status_code == 200
    for url in (
        f"/widget/shop/files/{ana_id}/{bo_signature}/",
        f"/widget/shop/files/{ana_id}/forged/",
        ana_url[:-3] + "xx/",
        bo_url.replace("/shop/", "/other/"),
    ):
        assert other.client.get(url).status_code == 404, url
    assert other.client.get(f"/widget/shop/files/{bo_id}/{bo_signature}/").content


def test_a_file_sent_three_times_is_stored_once(widget, teams):
    """An upload retried with its client id is one message with one file, and
    the same client id on the socket afterwards is a duplicate too."""
    widget.start(name="Ana")

    statuses = [
        widget.upload(client_id="f-1", file=png()).json()["duplicate"] for _ in range(3)
    ]

    async def resent_on_the_socket():
        await widget.connect()
        await widget.send(type="message", client_id="f-1", text="")
        await widget.send(type="message", client_id="f-1", text="See the file")
        acks = [await widget.receive(), await widget.receive()]
        await widget.close()
        return acks

    acks = async_to_sync(resent_on_the_socket)()

    assert statuses == [False, True, True]
    # Without text or file a message is refused before the client id counts.
    assert acks[0]["error"] == "invalid"
    assert (acks[1]["type"], acks[1]["duplicate"]) == ("ack", True)
    assert InboundRecord.objects.count() == 1
    assert TimelineEvent.objects.filter(kind="message_in").count() == 1
    assert Attachment.objects.count() == 1
    assert ChatEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_file_too_large_is_refused_with_413(widget, settings):
    """A file over WIDGET_MAX_UPLOAD_BYTES is refused and nothing is stored."""
    settings.WIDGET_MAX_UPLOAD_BYTES = 1000
    widget.start(name="Ana")

    response = widget.upload(client_id="f-1", file=png(content=b"x" * 1001))

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert not InboundRecord.objects.exists()


@pytest.mark.django_db
def test_a_file_larger_than_a_stored_payload_is_refused_with_413(widget, settings):
    """When the desk's payload limit is below the widget's file limit, a file that
    fits the one but not the other is refused cleanly rather than failing."""
    settings.MAX_INBOUND_PAYLOAD_BYTES = 2000
    widget.start(name="Ana")

    response = widget.upload(client_id="f-1", file=png(content=b"x" * 1800))

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert not InboundRecord.objects.exists()


@pytest.mark.django_db
def test_a_file_of_another_type_is_refused_with_415(widget):
    """Only the allowed types are taken; an HTML or SVG file is refused."""
    widget.start(name="Ana")

    for name, content_type in (
        ("page.html", "text/html"),
        ("logo.svg", "image/svg+xml"),
        ("run.exe", "application/octet-stream"),
    ):
        upload = SimpleUploadedFile(name, b"<svg onload=alert(1)>", content_type)
        response = widget.upload(client_id="f-1", file=upload)
        assert response.status_code == 415
        assert response.json()["error"] == "unsupported_type"
    assert not InboundRecord.objects.exists()


@pytest.mark.django_db
def test_an_upload_needs_a_token_a_file_and_a_client_id(widget):
    """Without a valid token it is a 401; without a file or client id a 400."""
    widget.start(name="Ana")

    assert widget.upload(client_id="f-1", file=png(), token="forged").status_code == (
        401
    )
    response = widget.client.post(
        "/widget/shop/upload",
        {"client_id": "f-1"},
        HTTP_X_WIDGET_TOKEN=widget.token,
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid")
    response = widget.upload(client_id="", file=png())
    assert (response.status_code, response.json()["error"]) == (400, "invalid")
    assert not InboundRecord.objects.exists()
