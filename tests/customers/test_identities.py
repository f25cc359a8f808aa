import pytest
from django.test import TestCase, override_settings

from channels_app.adapters.base import ChannelAdapter
from customers.actions import do_resolve_sender
from customers.identities import (
    InvalidIdentityError,
    normalise_claims,
    normalise_identity,
)
from customers.models import Customer, Identity, MergeSuggestion
from supportdesk import events, registry
from tickets.inbound import IdentityClaim


def claims(*pairs: tuple[str, str]) -> tuple[IdentityClaim, ...]:
    return tuple(IdentityClaim(kind, value) for kind, value in pairs)


# --------------------------------------------------------------- normalisation


def test_an_email_is_lower_cased_without_brackets_or_spaces():
    assert normalise_identity("email", "  <Ana.Lopez@Example.COM> ") == (
        "email",
        "ana.lopez@example.com",
    )


@pytest.mark.parametrize(
    "value",
    ["ana", "ana@", "@example.com", "ana lopez@example.com", "ana@@example.com"],
)
def test_an_invalid_email_address_is_rejected(value):
    with pytest.raises(InvalidIdentityError, match="not a valid email address"):
        normalise_identity("email", value)


def test_a_national_phone_number_is_read_in_the_default_region():
    assert normalise_identity("phone", "(415) 555-2671") == ("phone", "+14155552671")


@override_settings(DEFAULT_PHONE_REGION="GB")
def test_the_default_region_decides_how_a_national_number_is_read():
    assert normalise_identity("phone", "020 7946 0958") == ("phone", "+442079460958")


@pytest.mark.parametrize(
    "kind, value, expected",
    [
        ("phone", "tel:+44 20 7946 0958", "+442079460958"),
        ("sms", "+1 415-555-2671", "+14155552671"),
        ("sms", "sms:+14155552671", "+14155552671"),
        ("whatsapp", "whatsapp:+14155552671", "+14155552671"),
    ],
)
def test_phone_like_identities_are_stored_in_e164(kind, value, expected):
    assert normalise_identity(kind, value) == (kind, expected)


def test_a_whatsapp_id_is_an_international_number_without_the_plus():
    # Read as a national number of the default region (US) it would be invalid.
    assert normalise_identity("whatsapp", "447911123456") == (
        "whatsapp",
        "+447911123456",
    )


@pytest.mark.parametrize(
    "kind, value",
    [
        ("phone", "12"),
        ("phone", "call me"),
        ("whatsapp", "1415"),
        ("sms", "+1 000-000-0000"),
    ],
)
def test_an_invalid_phone_number_is_rejected(kind, value):
    with pytest.raises(InvalidIdentityError, match="phone number"):
        normalise_identity(kind, value)


def test_an_unknown_identity_kind_is_rejected():
    with pytest.raises(InvalidIdentityError, match="unknown identity kind 'fax'"):
        normalise_identity("fax", "+14155552671")


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_identity_is_rejected(value):
    with pytest.raises(InvalidIdentityError, match="empty telegram identity"):
        normalise_identity("telegram", value)


def test_a_handle_is_kept_as_sent_but_bounded():
    assert normalise_identity("telegram", " @Ana_L ") == ("telegram", "@Ana_L")
    with pytest.raises(InvalidIdentityError, match="longer than 320"):
        normalise_identity("messenger", "x" * 321)


def test_a_whatsapp_or_sms_number_also_claims_the_phone_identity_once():
    pairs = normalise_claims(
        claims(
            ("whatsapp", "14155552671"), ("sms", "+14155552671"), ("email", "A@x.org")
        )
    )

    assert pairs == [
        ("whatsapp", "+14155552671"),
        ("phone", "+14155552671"),
        ("sms", "+14155552671"),
        ("email", "a@x.org"),
    ]


# ------------------------------------------------------------ resolving a sender


@pytest.mark.django_db
def test_a_new_sender_becomes_one_customer_with_every_claimed_identity():
    sender = do_resolve_sender(
        claims=claims(("email", "Ana@Example.com"), ("phone", "(415) 555-2671")),
        display_name="  Ana López ",
        language="es",
    )

    customer = Customer.objects.get()
    assert sender.customer == customer
    assert (customer.display_name, customer.language) == ("Ana López", "es")
    assert sender.identity.kind == "email"
    assert sender.identity.value == "ana@example.com"
    assert set(customer.identities.values_list("kind", "value")) == {
        ("email", "ana@example.com"),
        ("phone", "+14155552671"),
    }


@pytest.mark.django_db
def test_a_known_identity_in_any_spelling_finds_its_customer():
    first = do_resolve_sender(claims=claims(("email", "ana@example.com")))

    again = do_resolve_sender(claims=claims(("email", " <ANA@example.COM>")))

    assert again.customer == first.customer
    assert again.identity == first.identity
    assert Customer.objects.count() == 1
    assert Identity.objects.count() == 1


@pytest.mark.django_db
def test_a_new_identity_joins_the_customer_of_a_known_one():
    first = do_resolve_sender(claims=claims(("email", "ana@example.com")))

    sender = do_resolve_sender(
        claims=claims(("whatsapp", "14155552671"), ("email", "ana@example.com"))
    )

    assert sender.customer == first.customer
    assert sender.identity.kind == "whatsapp"
    assert set(first.customer.identities.values_list("kind", flat=True)) == {
        "email",
        "whatsapp",
        "phone",
    }


@pytest.mark.django_db
def test_a_whatsapp_number_known_as_a_phone_finds_that_customer():
    caller = do_resolve_sender(claims=claims(("phone", "(415) 555-2671")))

    sender = do_resolve_sender(claims=claims(("whatsapp", "14155552671")))

    assert sender.customer == caller.customer
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_a_name_and_language_fill_gaps_but_never_overwrite():
    first = do_resolve_sender(claims=claims(("email", "ana@example.com")))

    do_resolve_sender(
        claims=claims(("email", "ana@example.com")), display_name="Ana", language="es"
    )
    do_resolve_sender(
        claims=claims(("email", "ana@example.com")), display_name="Spoof", language="fr"
    )

    first.customer.refresh_from_db()
    assert (first.customer.display_name, first.customer.language) == ("Ana", "es")


@pytest.mark.django_db
def test_a_sender_without_identities_is_rejected():
    with pytest.raises(InvalidIdentityError, match="no sender identity"):
        do_resolve_sender(claims=())

    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_one_invalid_claim_rejects_the_sender_and_creates_nothing():
    with pytest.raises(InvalidIdentityError, match="not a valid email address"):
        do_resolve_sender(claims=claims(("whatsapp", "14155552671"), ("email", "ana@")))

    assert not Customer.objects.exists()
    assert not Identity.objects.exists()


@pytest.mark.django_db
def test_identities_of_two_customers_are_suggested_for_a_merge_not_merged():
    ana = do_resolve_sender(claims=claims(("email", "ana@example.com"))).customer
    phone = do_resolve_sender(claims=claims(("phone", "(415) 555-2671"))).customer

    with TestCase.captureOnCommitCallbacks() as callbacks:
        sender = do_resolve_sender(
            claims=claims(("email", "ana@example.com"), ("phone", "+14155552671"))
        )

    assert sender.customer == ana
    suggestion = MergeSuggestion.objects.get()
    assert (suggestion.customer, suggestion.other) == (ana, phone)
    assert suggestion.status == MergeSuggestion.Status.PENDING
    assert "phone:+14155552671" in suggestion.reason
    assert not Customer.objects.filter(merged_into__isnull=False).exists()
    assert phone.identities.get().value == "+14155552671"
    published = [callback.args for callback in callbacks]
    assert published == [
        (
            {
                "type": events.MERGE_SUGGESTED,
                "suggestion_id": suggestion.pk,
                "customer_id": ana.pk,
                "other_id": phone.pk,
            },
            [events.DESK_GROUP],
        )
    ]


@pytest.mark.django_db
def test_the_same_pair_is_suggested_once_whichever_claim_comes_first():
    ana = do_resolve_sender(claims=claims(("email", "ana@example.com"))).customer
    do_resolve_sender(claims=claims(("phone", "(415) 555-2671")))
    both = (("email", "ana@example.com"), ("phone", "+14155552671"))

    do_resolve_sender(claims=claims(*both))
    do_resolve_sender(claims=claims(*both))
    do_resolve_sender(claims=claims(*reversed(both)))

    assert MergeSuggestion.objects.get().customer == ana


# ---------------------------------------------------- kinds declared by adapters


class PagerAdapter(ChannelAdapter):
    """A channel whose senders are pager numbers and radio call signs."""

    key = "pager"
    label = "Pager"
    channel = "pager"
    identity_kinds = (
        registry.IdentityKindSpec(
            "pager", "Pager", form=registry.PHONE_FORM, also_a_phone=True
        ),
        registry.IdentityKindSpec("callsign", "Call sign"),
    )


@pytest.fixture
def pagers(settings):
    settings.CHANNEL_ADAPTERS = {
        **settings.CHANNEL_ADAPTERS,
        "pager": f"{__name__}.PagerAdapter",
    }


def test_a_kind_is_normalised_as_its_adapter_declares_it(pagers):
    assert normalise_identity("pager", "(415) 555-2671") == ("pager", "+14155552671")
    assert normalise_identity("callsign", "  KD6-ABC ") == ("callsign", "KD6-ABC")
    assert normalise_claims(claims(("pager", "+1 415 555 2671"))) == [
        ("pager", "+14155552671"),
        ("phone", "+14155552671"),
    ]


def test_a_kind_of_an_adapter_not_registered_is_refused():
    with pytest.raises(InvalidIdentityError, match="unknown identity kind 'pager'"):
        normalise_identity("pager", "+14155552671")
