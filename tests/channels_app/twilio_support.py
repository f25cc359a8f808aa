"""Shared by the Twilio tests: inboxes, signed webhook posts, the stand-in API."""

from urllib.parse import urlencode

import pytest
from django.test import TestCase
from twilio.request_validator import RequestValidator

from channels_app.models import InboundRecord, Inbox

PUBLIC_BASE_URL = "https://desk.example.com"
ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "twilio-auth-token-for-tests"
DESK_NUMBER = "+14155550100"
CUSTOMER = "+14155552671"


@pytest.fixture
def public_url(settings):
    """The desk as Twilio sees it, behind a proxy that the test client is not."""
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    return PUBLIC_BASE_URL


@pytest.fixture
def twilio_api(provider_server, settings):
    settings.TWILIO_API_BASE_URL = provider_server.url
    return provider_server


@pytest.fixture
def sms_inbox(db, public_url) -> Inbox:
    return Inbox.objects.create(
        adapter="twilio-sms",
        name="SMS",
        slug="texts",
        config={"account_sid": ACCOUNT_SID, "from_number": DESK_NUMBER},
        secrets={"auth_token": AUTH_TOKEN},
    )


@pytest.fixture
def voice_inbox(db, public_url) -> Inbox:
    return Inbox.objects.create(
        adapter="twilio-voice",
        name="Voice",
        slug="calls",
        config={"account_sid": ACCOUNT_SID},
        secrets={"auth_token": AUTH_TOKEN},
    )


def signature(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_signed(
    client,
    path: str,
    params: dict,
    *,
    signed_params: dict | None = None,
    signed_url: str | None = None,
    token: str = AUTH_TOKEN,
    sign: bool = True,
):
    """POST form fields as Twilio would, signed over the public URL, and run what
    the door queues. signed_params / signed_url sign something else instead."""
    headers = {}
    if sign:
        url = signed_url or PUBLIC_BASE_URL + path
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature(
            url, params if signed_params is None else signed_params, token
        )
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            path,
            data=urlencode(params),
            content_type="application/x-www-form-urlencoded",
            **headers,
        )


def accepted(client, path: str, params: dict) -> InboundRecord:
    """The stored record of a request the door accepted."""
    response = post_signed(client, path, params)
    assert response.status_code == 200, response.content
    return InboundRecord.objects.get(payload=urlencode(params).encode())
