import re

import pytest
from django.test import override_settings

from channels_app.email.tokens import reply_address, ticket_from_addresses
from channels_app.models import Inbox

pytestmark = pytest.mark.django_db


def test_a_reply_address_tags_the_inbox_address_with_a_signed_ticket_token():
    inbox = Inbox.objects.create(
        adapter="email",
        name="Help",
        slug="help",
        config={"address": "Help Desk <help@desk.example>"},
    )

    address = reply_address(ticket_id=123, inbox=inbox)

    assert re.fullmatch(r"help\+t123-[a-z2-7]{10}@desk\.example", address)
    assert ticket_from_addresses([address]) == 123


@override_settings(DEFAULT_FROM_EMAIL="Support <support@desk.example>")
def test_without_an_inbox_address_the_default_sender_is_tagged():
    address = reply_address(ticket_id=7)

    assert address.startswith("support+t7-")
    assert address.endswith("@desk.example")


def test_each_ticket_has_its_own_signature():
    one, two = reply_address(ticket_id=1), reply_address(ticket_id=2)

    assert one.split("-", 1)[1] != two.split("-", 1)[1]


def test_a_ticket_number_typed_into_an_address_names_no_ticket():
    assert ticket_from_addresses(["support+t123-aaaaaaaaaa@desk.example"]) is None


def test_another_tickets_signature_names_no_ticket():
    signature = reply_address(ticket_id=5).split("-", 1)[1]

    assert ticket_from_addresses([f"support+t6-{signature}"]) is None


def test_a_garbled_token_names_no_ticket():
    good = reply_address(ticket_id=42)
    local, domain = good.split("@")

    for garbled in (
        f"{local[:-1]}@{domain}",
        f"{local}x@{domain}",
        f"{local.replace('+t42-', '+t42')}@{domain}",
        "support+t-abc@desk.example",
        "not an address",
        "",
    ):
        assert ticket_from_addresses([garbled]) is None, garbled


def test_the_first_address_with_a_valid_token_wins():
    forged = "support+t9-bbbbbbbbbb@desk.example"
    valid = reply_address(ticket_id=11)

    found = ticket_from_addresses(
        ["ana@example.com", forged, f'"Support" <{valid}>', reply_address(ticket_id=12)]
    )

    assert found == 11


def test_a_token_survives_a_client_that_upper_cases_the_address():
    assert ticket_from_addresses([reply_address(ticket_id=8).upper()]) == 8


def test_replies_to_tokens_signed_before_a_key_rotation_still_thread():
    with override_settings(SECRET_KEY="the-old-key-" * 4):
        old = reply_address(ticket_id=31)

    with override_settings(
        SECRET_KEY="the-new-key-" * 4, SECRET_KEY_FALLBACKS=["the-old-key-" * 4]
    ):
        assert ticket_from_addresses([old]) == 31
    with override_settings(SECRET_KEY="the-new-key-" * 4, SECRET_KEY_FALLBACKS=[]):
        assert ticket_from_addresses([old]) is None
