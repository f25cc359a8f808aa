"""One person who writes by email, WhatsApp and SMS and calls has one timeline.

Every step goes through the door production uses: the MTA pipe for the mail, the
call-logging API, and the signed WhatsApp, Twilio SMS and Twilio Voice webhooks.
"""

import json
from datetime import datetime, timedelta
from email.utils import format_datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from channels_app.adapters.meta import hub_signature
from channels_app.models import InboundRecord, Inbox
from customers.models import Customer, MergeSuggestion
from tests.channels_app.twilio_support import (
    ACCOUNT_SID,
    DESK_NUMBER,
    accepted,
)
from tests.factories import RoutingRuleFactory
from tickets.models import TimelineEvent
from tickets.timeline import customer_timeline

pytestmark = pytest.mark.django_db

NUMBER = "+14155552671"
APP_SECRET = "whatsapp-app-secret-for-this-test"
PHONE_NUMBER_ID = "106540352242922"

MAIL = """\
From: Ana Lima <ana.lima@example.com>
To: Support <support@desk.example.com>
Subject: Refund for invoice INV-2291
Message-ID: <refund-2291@mail.example.com>
Date: {date}
Content-Type: text/plain; charset=utf-8

Hello, I was charged twice on invoice INV-2291. Please call me back.

Ana
"""


@pytest.fixture
def whatsapp_inbox(db) -> Inbox:
    return Inbox.objects.create(
        adapter="whatsapp",
        name="WhatsApp",
        slug="wa",
        config={"phone_number_id": PHONE_NUMBER_ID},
        secrets={
            "app_secret": APP_SECRET,
            "access_token": "token",
            "verify_token": "v",
        },
    )


def minutes_ago(minutes: int) -> datetime:
    return timezone.now() - timedelta(minutes=minutes)


def whatsapp_text(text: str) -> dict:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [
                                {"profile": {"name": "Ana Lima"}, "wa_id": NUMBER[1:]}
                            ],
                            "messages": [
                                {
                                    "from": NUMBER[1:],
                                    "id": "wamid.HBgLMTQxNTU1NTI2NzE",
                                    "timestamp": str(int(minutes_ago(30).timestamp())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def post_whatsapp(client, payload: dict) -> None:
    body = json.dumps(payload).encode()
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            "/webhooks/whatsapp/wa/",
            data=body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=hub_signature(APP_SECRET, body),
        )
    assert response.status_code == 200, response.content
    record = InboundRecord.objects.get(pk=response.json()["received"])
    assert record.status == InboundRecord.Status.PROCESSED, record.error


def mail_in(tmp_path) -> None:
    path = tmp_path / "refund.eml"
    path.write_bytes(MAIL.format(date=format_datetime(minutes_ago(120))).encode())
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("ingest_eml", str(path), stdout=StringIO())


def test_mail_a_logged_call_whatsapp_sms_and_a_call_make_one_timeline(
    client,
    tmp_path,
    teams,
    billing_agent,
    supervisor,
    whatsapp_inbox,
    sms_inbox,
    voice_inbox,
):
    RoutingRuleFactory(team=teams["billing"], keywords=["invoice"])
    mail_in(tmp_path)
    ticket = TimelineEvent.objects.get(channel="email").ticket
    assert ticket.team == teams["billing"]

    # The agent calls back the number Ana gave and logs it on her ticket.
    api = APIClient()
    api.force_login(billing_agent)
    with TestCase.captureOnCommitCallbacks(execute=True):
        logged = api.post(
            "/api/v1/calls/",
            {
                "ticket": ticket.pk,
                "direction": "outbound",
                "number": "(415) 555-2671",
                "duration_seconds": 240,
                "outcome": "answered",
                "note": "Confirmed the double charge.",
            },
            format="json",
        )
    assert logged.status_code == 201, logged.content

    post_whatsapp(client, whatsapp_text("Here is the bank statement you asked for"))
    sms = accepted(
        client,
        "/webhooks/twilio-sms/texts/",
        {
            "MessageSid": "SM0001",
            "AccountSid": ACCOUNT_SID,
            "From": NUMBER,
            "To": DESK_NUMBER,
            "Body": "Did the refund go through?",
            "NumMedia": "0",
            "SmsStatus": "received",
        },
    )
    call = accepted(
        client,
        "/webhooks/twilio-voice/calls/",
        {
            "CallSid": "CA0001",
            "AccountSid": ACCOUNT_SID,
            "From": NUMBER,
            "To": DESK_NUMBER,
            "Direction": "inbound",
            "CallStatus": "no-answer",
        },
    )
    for record in (sms, call):
        record.refresh_from_db()
        assert record.status == InboundRecord.Status.PROCESSED, record.error

    (ana,) = Customer.objects.filter(merged_into__isnull=True)
    assert set(ana.identities.values_list("kind", "value")) == {
        ("email", "ana.lima@example.com"),
        ("phone", NUMBER),
        ("whatsapp", NUMBER),
        ("sms", NUMBER),
    }
    assert not MergeSuggestion.objects.exists()
    page = customer_timeline(viewer=supervisor, customer_id=ana.pk)
    touchpoints = [
        (event.channel, event.kind, event.text.splitlines()[0])
        for event in page.events
        if event.channel != "internal"
    ]
    assert sorted(touchpoints) == sorted(
        [
            ("phone", "call", "Missed call"),
            ("sms", "message_in", "Did the refund go through?"),
            ("whatsapp", "message_in", "Here is the bank statement you asked for"),
            ("phone", "call", "Outbound call, answered, 4 min"),
            (
                "email",
                "message_in",
                "Hello, I was charged twice on invoice INV-2291. Please call me back.",
            ),
        ]
    )
    assert [event.occurred_at for event in page.events] == sorted(
        (event.occurred_at for event in page.events), reverse=True
    )
