import base64
from urllib.parse import parse_qs

import pytest
from django.test import TestCase

from channels_app.models import InboundRecord
from customers.models import Customer, Identity
from tests.channels_app.twilio_support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    DESK_NUMBER,
    PUBLIC_BASE_URL,
    accepted,
    post_signed,
)
from tests.helpers import deliver, message
from tests.provider_server import Reply
from tickets.actions.tickets import do_reply
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db

PATH = "/webhooks/twilio-sms/texts/"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def inbound_sms(sid: str = "SM0001", body: str = "My router keeps rebooting", **extra):
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": CUSTOMER,
        "To": DESK_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def status_callback(sid: str, status: str, **extra):
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": DESK_NUMBER,
        "To": CUSTOMER,
        "MessageStatus": status,
        "SmsStatus": status,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def basic_auth() -> str:
    raw = f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()
    return "Basic " + base64.b64encode(raw).decode()


# ------------------------------------------------------------------ the door


def test_a_signed_sms_lands_on_the_senders_timeline(client, sms_inbox, teams):
    record = accepted(client, PATH, inbound_sms())

    record.refresh_from_db()
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    assert (record.channel, record.external_id, record.inbox) == (
        "twilio-sms",
        "SM0001",
        "texts",
    )
    event = TimelineEvent.objects.get(external_id="SM0001")
    assert (event.channel, event.kind, event.text) == (
        "sms",
        "message_in",
        "My router keeps rebooting",
    )
    assert event.inbox == sms_inbox
    assert event.ticket.channel == "sms" and event.ticket.inbox == sms_inbox
    assert set(event.customer.identities.values_list("kind", "value")) == {
        ("sms", CUSTOMER),
        ("phone", CUSTOMER),
    }


@pytest.mark.parametrize(
    "how",
    ["no signature", "another token", "other fields", "the test server's own URL"],
)
def test_an_unsigned_or_wrongly_signed_sms_is_refused_and_not_stored(
    client, sms_inbox, how
):
    params = inbound_sms()
    options = {
        "no signature": {"sign": False},
        "another token": {"token": "not-the-auth-token"},
        "other fields": {"signed_params": {**params, "Body": "something else"}},
        # The desk checks against PUBLIC_BASE_URL, not the Host it was reached on.
        "the test server's own URL": {"signed_url": f"http://testserver{PATH}"},
    }[how]

    response = post_signed(client, PATH, params, **options)

    assert response.status_code == 403
    assert not InboundRecord.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_twilio_is_answered_with_empty_twiml(client, sms_inbox, teams):
    """Anything but TwiML is an error on Twilio's side, and a Message in it would
    be texted back to the customer."""
    response = post_signed(client, PATH, inbound_sms())

    assert response["Content-Type"] == "text/xml"
    assert response.content.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    )


def test_a_query_string_is_part_of_the_signed_url(client, sms_inbox, teams):
    path = PATH + "?source=number-1"
    assert (
        accepted(client, path, inbound_sms()).status == InboundRecord.Status.PROCESSED
    )
    assert (
        post_signed(
            client, path, inbound_sms("SM0002"), signed_url=PUBLIC_BASE_URL + PATH
        ).status_code
        == 403
    )


def test_an_inbox_without_an_auth_token_refuses_everything(client, sms_inbox):
    sms_inbox.secrets = {}
    sms_inbox.save(update_fields=["secrets"])

    assert post_signed(client, PATH, inbound_sms()).status_code == 403
    assert not InboundRecord.objects.exists()


def test_the_same_sms_delivered_twice_is_stored_once(client, sms_inbox, teams):
    first = post_signed(client, PATH, inbound_sms())
    second = post_signed(client, PATH, inbound_sms())

    assert (first.status_code, second.status_code) == (200, 200)
    assert InboundRecord.objects.count() == 1
    assert TimelineEvent.objects.filter(external_id="SM0001").count() == 1


def test_a_second_sms_continues_the_open_ticket(client, sms_inbox, teams):
    accepted(client, PATH, inbound_sms("SM0001"))
    accepted(client, PATH, inbound_sms("SM0002", body="Still rebooting"))

    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().events.filter(kind="message_in").count() == 2


def test_an_unknown_message_status_is_stored_as_unsupported(client, sms_inbox):
    record = accepted(client, PATH, status_callback("SM0009", "teleported"))

    record.refresh_from_db()
    assert record.status == InboundRecord.Status.UNSUPPORTED
    assert "teleported" in record.error


# ------------------------------------------------------------------------ MMS


def test_mms_media_is_fetched_with_the_accounts_credentials(
    client, sms_inbox, twilio_api, teams
):
    media_path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM0003/Media/ME01"
    twilio_api.route("GET", media_path, Reply(body=PNG, content_type="image/png"))
    params = inbound_sms(
        "MM0003",
        body="Photo of the error",
        NumMedia="1",
        MediaUrl0=twilio_api.url + media_path,
        MediaContentType0="image/png",
    )

    record = accepted(client, PATH, params)

    record.refresh_from_db()
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    (fetch,) = twilio_api.requests
    assert fetch.path == media_path
    assert fetch.headers["authorization"] == basic_auth()
    event = TimelineEvent.objects.get(external_id="MM0003")
    assert event.text == "Photo of the error"
    (attachment,) = event.attachments.all()
    assert (attachment.content_type, bytes(attachment.data)) == ("image/png", PNG)
    assert attachment.name == "mms-1.png"


def test_media_outside_the_twilio_api_is_kept_as_a_link_without_credentials(
    client, sms_inbox, twilio_api, provider_server, teams
):
    elsewhere = "http://127.0.0.1:9/some/picture.png"
    params = inbound_sms(
        "MM0004",
        body="",
        NumMedia="1",
        MediaUrl0=elsewhere,
        MediaContentType0="image/png",
    )

    accepted(client, PATH, params)

    event = TimelineEvent.objects.get(external_id="MM0004")
    assert elsewhere in event.text
    assert event.metadata["notes"] == [f"[media mms-1.png not fetched: {elsewhere}]"]
    assert not event.attachments.exists()
    assert not twilio_api.requests


def test_mms_media_of_a_type_not_allowed_is_a_note(
    client, sms_inbox, twilio_api, teams
):
    media_path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM0005/Media/ME01"
    params = inbound_sms(
        "MM0005",
        body="see file",
        NumMedia="1",
        MediaUrl0=twilio_api.url + media_path,
        MediaContentType0="application/x-msdownload",
    )

    accepted(client, PATH, params)

    event = TimelineEvent.objects.get(external_id="MM0005")
    assert "not an allowed media type" in event.text
    assert not event.attachments.exists()
    assert not twilio_api.requests


def test_media_that_cannot_be_fetched_fails_the_record_for_a_replay(
    client, sms_inbox, twilio_api, teams
):
    media_path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM0006/Media/ME01"
    twilio_api.route("GET", media_path, Reply(status=503, body={"message": "busy"}))
    params = inbound_sms(
        "MM0006",
        NumMedia="1",
        MediaUrl0=twilio_api.url + media_path,
        MediaContentType0="image/png",
    )

    record = accepted(client, PATH, params)

    record.refresh_from_db()
    assert record.status == InboundRecord.Status.FAILED
    assert "HTTP 503" in record.error
    assert not TimelineEvent.objects.exists()


# --------------------------------------------------------------------- replies


def twilio_accepts(twilio_api, sid: str = "SM9001") -> None:
    twilio_api.route(
        "POST",
        MESSAGES_PATH,
        Reply(status=201, body={"sid": sid, "status": "queued"}),
    )


def reply(ticket: Ticket, agent, text: str, channel: str = "") -> TimelineEvent:
    with TestCase.captureOnCommitCallbacks(execute=True):
        event = do_reply(ticket=ticket, author=agent, text=text, channel=channel)
    event.refresh_from_db()
    return event


def test_an_agent_reply_goes_out_through_the_twilio_rest_api(
    client, sms_inbox, twilio_api, tech_agent
):
    twilio_accepts(twilio_api)
    accepted(client, PATH, inbound_sms())
    ticket = Ticket.objects.get()

    event = reply(ticket, tech_agent, "Please unplug it for ten seconds.")

    assert (event.delivery_status, event.external_id) == ("sent", "SM9001")
    assert event.inbox == sms_inbox
    (sent,) = twilio_api.requests
    assert (sent.method, sent.path) == ("POST", MESSAGES_PATH)
    assert sent.headers["authorization"] == basic_auth()
    form = {key: values[0] for key, values in parse_qs(sent.body.decode()).items()}
    assert form == {
        "To": CUSTOMER,
        "From": DESK_NUMBER,
        "Body": "Please unplug it for ten seconds.",
        "StatusCallback": f"{PUBLIC_BASE_URL}/webhooks/twilio-sms/texts/",
    }


def test_status_callbacks_move_the_delivery_state_forward(
    client, sms_inbox, twilio_api, tech_agent
):
    twilio_accepts(twilio_api)
    accepted(client, PATH, inbound_sms())
    event = reply(Ticket.objects.get(), tech_agent, "On it.")

    accepted(client, PATH, status_callback("SM9001", "delivered"))
    event.refresh_from_db()
    assert event.delivery_status == "delivered"

    # A late "sent" never takes it back.
    accepted(client, PATH, status_callback("SM9001", "sent"))
    event.refresh_from_db()
    assert event.delivery_status == "delivered"
    assert [step["status"] for step in event.metadata["delivery"]] == ["delivered"]


def test_an_undelivered_sms_fails_with_the_reason(
    client, sms_inbox, twilio_api, tech_agent
):
    twilio_accepts(twilio_api)
    accepted(client, PATH, inbound_sms())
    event = reply(Ticket.objects.get(), tech_agent, "On it.")

    accepted(client, PATH, status_callback("SM9001", "undelivered", ErrorCode="30003"))

    event.refresh_from_db()
    assert event.delivery_status == "failed"
    assert event.delivery_error == "Twilio error 30003: the handset is unreachable"


def test_the_same_status_callback_twice_is_one_delivery(
    client, sms_inbox, twilio_api, tech_agent
):
    twilio_accepts(twilio_api)
    accepted(client, PATH, inbound_sms())
    reply(Ticket.objects.get(), tech_agent, "On it.")

    post_signed(client, PATH, status_callback("SM9001", "delivered"))
    again = post_signed(client, PATH, status_callback("SM9001", "delivered"))

    assert again.status_code == 200
    assert InboundRecord.objects.filter(external_id="SM9001:delivered").count() == 1


def test_a_refused_sms_fails_at_once_with_twilios_words(
    client, sms_inbox, twilio_api, tech_agent
):
    twilio_api.route(
        "POST",
        MESSAGES_PATH,
        Reply(
            status=400,
            body={
                "code": 21211,
                "status": 400,
                "message": "The 'To' number is not a valid phone number.",
            },
        ),
    )
    accepted(client, PATH, inbound_sms())

    event = reply(Ticket.objects.get(), tech_agent, "Hello")

    assert event.delivery_status == "failed"
    assert "The 'To' number is not a valid phone number. (code 21211)" in (
        event.delivery_error
    )
    assert len(twilio_api.requests) == 1


def test_a_customer_who_never_texted_is_answered_through_the_sms_inbox(
    sms_inbox, twilio_api, tech_agent, teams
):
    """A reply on SMS with no inbox in the conversation takes the first enabled
    Twilio SMS inbox: the timeline channel "sms" is served by Twilio."""
    twilio_accepts(twilio_api, sid="SM7777")
    deliver(message("phone", ("phone", CUSTOMER), text="Voicemail: call me back"))
    ticket = Ticket.objects.get()

    event = reply(ticket, tech_agent, "We tried to call you back.", channel="sms")

    assert (event.delivery_status, event.external_id) == ("sent", "SM7777")
    (sent,) = twilio_api.requests
    assert parse_qs(sent.body.decode())["To"] == [CUSTOMER]


def test_a_long_reply_is_sent_in_parts_of_1600_characters(
    client, sms_inbox, twilio_api, tech_agent
):
    twilio_accepts(twilio_api)
    accepted(client, PATH, inbound_sms())

    reply(Ticket.objects.get(), tech_agent, "x" * 2000)

    bodies = [parse_qs(r.body.decode())["Body"][0] for r in twilio_api.requests]
    assert [len(body) for body in bodies] == [1600, 400]


def test_an_sms_from_a_number_already_known_joins_that_customer(
    client, sms_inbox, teams
):
    deliver(message("email", ("email", "ana@example.com"), ("phone", CUSTOMER)))

    accepted(client, PATH, inbound_sms())

    assert Customer.objects.count() == 1
    assert Identity.objects.get(kind="sms").customer == Customer.objects.get()
