import json

import pytest
from django.test import TestCase

from channels_app.models import InboundRecord, Inbox
from tests.provider_server import Reply
from tickets.actions.tickets import do_reply
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

BOT_TOKEN = "123456:TEST-bot-token"
SECRET_TOKEN = "secret-token-for-tests"
PATH = "/webhooks/telegram/helpdesk-bot/"
CHAT = 777000111
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 200


@pytest.fixture
def inbox(db) -> Inbox:
    return Inbox.objects.create(
        adapter="telegram",
        name="Help desk bot",
        slug="helpdesk-bot",
        secrets={"bot_token": BOT_TOKEN, "secret_token": SECRET_TOKEN},
    )


@pytest.fixture
def telegram_api(provider_server, settings):
    settings.TELEGRAM_API_BASE_URL = provider_server.url
    return provider_server


def update(update_id: int = 9001, message_id: int = 42, **content) -> dict:
    content = content or {"text": "My router keeps rebooting"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": {
                "id": CHAT,
                "is_bot": False,
                "first_name": "Ana",
                "last_name": "Lima",
                "username": "analima",
                "language_code": "pt",
            },
            "chat": {"id": CHAT, "type": "private", "first_name": "Ana"},
            "date": 1795860000,
            **content,
        },
    }


def post(client, payload: dict, *, token: str | None = SECRET_TOKEN):
    headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": token} if token else {}
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            PATH, data=json.dumps(payload), content_type="application/json", **headers
        )


def accepted(client, payload: dict) -> InboundRecord:
    response = post(client, payload)
    assert response.status_code == 200, response.content
    return InboundRecord.objects.get(pk=response.json()["received"])


def the_message(**filters) -> TimelineEvent:
    return TimelineEvent.objects.get(kind="message_in", **filters)


def route_file(telegram_api, *, file_id: str, path: str, content: bytes, ctype: str):
    telegram_api.route(
        "GET",
        f"/bot{BOT_TOKEN}/getFile?file_id={file_id}",
        Reply(
            body={
                "ok": True,
                "result": {
                    "file_id": file_id,
                    "file_size": len(content),
                    "file_path": path,
                },
            }
        ),
    )
    telegram_api.route(
        "GET", f"/file/bot{BOT_TOKEN}/{path}", Reply(body=content, content_type=ctype)
    )


# ------------------------------------------------------------------ the door


def test_a_text_message_with_the_secret_token_lands_on_the_timeline(
    client, inbox, teams
):
    record = accepted(client, update())

    record.refresh_from_db()
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    assert record.external_id == "helpdesk-bot:9001"
    event = the_message()
    assert (event.channel, event.kind, event.text) == (
        "telegram",
        "message_in",
        "My router keeps rebooting",
    )
    assert event.external_id == f"123456:{CHAT}:42"
    assert event.sender_name == "Ana Lima"
    assert event.sender_identity.kind == "telegram"
    assert event.sender_identity.value == str(CHAT)
    assert event.ticket.conversation_key == f"123456:{CHAT}"
    assert event.ticket.inbox == inbox


@pytest.mark.parametrize("token", [None, "wrong-token", SECRET_TOKEN + "x"])
def test_a_missing_or_wrong_secret_token_is_refused_and_not_stored(
    client, inbox, token
):
    response = post(client, update(), token=token)

    assert response.status_code == 403
    assert not InboundRecord.objects.exists()


def test_an_inbox_without_a_secret_token_refuses_every_update(client, inbox):
    inbox.secrets = {"bot_token": BOT_TOKEN}
    inbox.save(update_fields=["secrets"])

    assert post(client, update(), token="anything").status_code == 403


def test_the_same_update_twice_is_stored_once(client, inbox, teams):
    post(client, update())
    again = post(client, update())

    assert again.json()["duplicate"] is True
    assert InboundRecord.objects.count() == 1
    assert TimelineEvent.objects.filter(kind="message_in").count() == 1


def test_a_sender_known_only_by_username_is_named_by_it(client, inbox, teams):
    payload = update()
    payload["message"]["from"] = {"id": 55, "is_bot": False, "username": "nemo"}
    payload["message"]["chat"] = {"id": 55, "type": "private"}

    accepted(client, payload)

    assert the_message().sender_name == "@nemo"


def test_an_edited_message_revises_the_text_and_keeps_the_first(client, inbox, teams):
    accepted(client, update())
    edit = {
        "update_id": 9002,
        "edited_message": {
            **update()["message"],
            "text": "My router reboots every hour",
            "edit_date": 1795860100,
        },
    }

    accepted(client, edit)

    event = the_message()
    assert event.text == "My router reboots every hour"
    assert (
        event.metadata["revisions"][0]["previous_text"] == "My router keeps rebooting"
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"update_id": 9100, "callback_query": {"id": "1", "data": "yes"}},
        update(9101, sticker={"file_id": "st", "emoji": "👍"}),
    ],
    ids=["callback query", "sticker"],
)
def test_updates_of_other_kinds_are_stored_as_unsupported(client, inbox, payload):
    response = post(client, payload)

    assert response.status_code == 200
    record = InboundRecord.objects.get()
    assert record.status == InboundRecord.Status.UNSUPPORTED
    assert not TimelineEvent.objects.exists()


def test_a_reply_to_a_message_points_at_it(client, inbox, teams):
    accepted(client, update(message_id=42))

    accepted(
        client,
        update(
            9002,
            43,
            text="Any news?",
            reply_to_message={
                "message_id": 42,
                "chat": {"id": CHAT, "type": "private"},
                "date": 1,
            },
        ),
    )

    second = the_message(external_id=f"123456:{CHAT}:43")
    assert second.metadata["replies_to"] == [f"123456:{CHAT}:42"]
    assert Ticket.objects.count() == 1


# ----------------------------------------------------------------------- media


def test_the_largest_photo_is_fetched_with_its_caption(
    client, inbox, telegram_api, teams
):
    route_file(
        telegram_api,
        file_id="big",
        path="photos/file_7.jpg",
        content=JPEG,
        ctype="application/octet-stream",
    )
    photo = [
        {
            "file_id": "small",
            "file_unique_id": "a",
            "width": 90,
            "height": 90,
            "file_size": 60,
        },
        {
            "file_id": "big",
            "file_unique_id": "b",
            "width": 800,
            "height": 800,
            "file_size": len(JPEG),
        },
    ]

    record = accepted(client, update(photo=photo, caption="The error screen"))

    record.refresh_from_db()
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    assert [r.path for r in telegram_api.requests] == [
        f"/bot{BOT_TOKEN}/getFile?file_id=big",
        f"/file/bot{BOT_TOKEN}/photos/file_7.jpg",
    ]
    event = the_message()
    assert event.text == "The error screen"
    (attachment,) = event.attachments.all()
    assert (attachment.content_type, bytes(attachment.data)) == ("image/jpeg", JPEG)


def test_a_document_keeps_its_name_and_type(client, inbox, telegram_api, teams):
    pdf = b"%PDF-1.4 invoice"
    route_file(
        telegram_api,
        file_id="doc1",
        path="documents/file_3.pdf",
        content=pdf,
        ctype="application/pdf",
    )

    accepted(
        client,
        update(
            document={
                "file_id": "doc1",
                "file_name": "invoice-2291.pdf",
                "mime_type": "application/pdf",
                "file_size": len(pdf),
            }
        ),
    )

    (attachment,) = the_message().attachments.all()
    assert (attachment.name, attachment.content_type, bytes(attachment.data)) == (
        "invoice-2291.pdf",
        "application/pdf",
        pdf,
    )


def test_a_voice_message_is_kept_as_audio(client, inbox, telegram_api, teams):
    ogg = b"OggS" + b"\x00" * 50
    route_file(
        telegram_api,
        file_id="v1",
        path="voice/file_9.oga",
        content=ogg,
        ctype="application/octet-stream",
    )

    accepted(
        client,
        update(
            voice={
                "file_id": "v1",
                "duration": 4,
                "mime_type": "audio/ogg",
                "file_size": len(ogg),
            }
        ),
    )

    event = the_message()
    (attachment,) = event.attachments.all()
    assert (attachment.content_type, bytes(attachment.data)) == ("audio/ogg", ogg)
    assert attachment.name == "telegram-voice.oga"


def test_a_file_over_the_size_limit_is_a_note_and_never_fetched(
    client, inbox, telegram_api, teams, settings
):
    settings.MAX_MEDIA_BYTES = 1000

    accepted(
        client,
        update(
            document={
                "file_id": "huge",
                "file_name": "backup.zip",
                "mime_type": "application/pdf",
                "file_size": 5000,
            }
        ),
    )

    event = the_message()
    assert "backup.zip not kept: 5000 bytes, over the 1000-byte limit" in event.text
    assert event.metadata["notes"]
    assert not event.attachments.exists()
    assert not telegram_api.requests


def test_a_file_of_a_type_not_allowed_is_a_note(client, inbox, telegram_api, teams):
    accepted(
        client,
        update(
            document={
                "file_id": "exe",
                "file_name": "setup.exe",
                "mime_type": "application/x-msdownload",
                "file_size": 10,
            },
            caption="Is this safe?",
        ),
    )

    event = the_message()
    assert event.text.startswith("Is this safe?\n[document setup.exe not kept: type")
    assert not telegram_api.requests


def test_a_file_that_cannot_be_fetched_fails_without_showing_the_token(
    client, inbox, telegram_api, teams
):
    telegram_api.route(
        "GET",
        f"/bot{BOT_TOKEN}/getFile",
        Reply(status=500, body={"ok": False, "description": "Internal Server Error"}),
    )

    record = accepted(
        client,
        update(
            document={
                "file_id": "d",
                "mime_type": "application/pdf",
                "file_size": 10,
            }
        ),
    )

    record.refresh_from_db()
    assert record.status == InboundRecord.Status.FAILED
    assert "Internal Server Error" in record.error
    assert BOT_TOKEN not in record.error
    assert not TimelineEvent.objects.exists()


# --------------------------------------------------------------------- replies


def send_ok(telegram_api, message_id: int = 501) -> None:
    telegram_api.route(
        "POST",
        f"/bot{BOT_TOKEN}/sendMessage",
        Reply(
            body={
                "ok": True,
                "result": {
                    "message_id": message_id,
                    "chat": {"id": CHAT, "type": "private"},
                    "date": 1795860200,
                    "text": "...",
                },
            }
        ),
    )


def reply(agent, text: str) -> TimelineEvent:
    with TestCase.captureOnCommitCallbacks(execute=True):
        event = do_reply(ticket=Ticket.objects.get(), author=agent, text=text)
    event.refresh_from_db()
    return event


def test_an_agent_reply_is_sent_with_send_message(
    client, inbox, telegram_api, tech_agent
):
    send_ok(telegram_api)
    accepted(client, update())

    event = reply(tech_agent, "Please unplug it for ten seconds.")

    assert (event.delivery_status, event.external_id) == ("sent", f"123456:{CHAT}:501")
    (sent,) = telegram_api.requests
    assert (sent.method, sent.path) == ("POST", f"/bot{BOT_TOKEN}/sendMessage")
    assert sent.json() == {
        "chat_id": str(CHAT),
        "text": "Please unplug it for ten seconds.",
    }


def test_the_customers_answer_to_a_reply_points_at_it(
    client, inbox, telegram_api, tech_agent
):
    """Ids of messages in and out share one form, so a quoted reply is found."""
    send_ok(telegram_api, message_id=501)
    accepted(client, update(message_id=42))
    sent = reply(tech_agent, "Did unplugging help?")

    accepted(
        client,
        update(
            9002,
            43,
            text="Yes, thanks!",
            reply_to_message={
                "message_id": 501,
                "chat": {"id": CHAT, "type": "private"},
                "date": 1,
            },
        ),
    )

    answer = the_message(external_id=f"123456:{CHAT}:43")
    assert answer.metadata["replies_to"] == [sent.external_id]
    assert answer.ticket == sent.ticket


def test_a_reply_telegram_refuses_fails_at_once_with_its_reason(
    client, inbox, telegram_api, tech_agent
):
    telegram_api.route(
        "POST",
        f"/bot{BOT_TOKEN}/sendMessage",
        Reply(
            status=403,
            body={
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
        ),
    )
    accepted(client, update())

    event = reply(tech_agent, "Hello?")

    assert event.delivery_status == "failed"
    assert "Forbidden: bot was blocked by the user (error 403)" in event.delivery_error
    assert BOT_TOKEN not in event.delivery_error
    assert len(telegram_api.requests) == 1


def test_a_reply_longer_than_telegram_takes_goes_in_parts(
    client, inbox, telegram_api, tech_agent
):
    send_ok(telegram_api)
    accepted(client, update())

    reply(tech_agent, "y" * 5000)

    assert [len(r.json()["text"]) for r in telegram_api.requests] == [4096, 904]
