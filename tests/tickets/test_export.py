import hashlib
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Identity
from tests.helpers import deliver, message
from tickets.export import customer_export, write_export
from tickets.inbound import InboundAttachment
from tickets.models import Attachment, TimelineEvent

pytestmark = pytest.mark.django_db

ANA = "email:ana.lima@example.com"


@pytest.fixture(autouse=True)
def _demo_mode(settings):
    """seed_demo seeds only in demo mode; the suite runs with DATABASE_URL set."""
    settings.DEMO = True


@pytest.fixture
def seeded(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=StringIO())


def export(identity: str) -> tuple[dict, str]:
    out = StringIO()
    call_command("export_customer", identity, stdout=out)
    return json.loads(out.getvalue()), out.getvalue()


def test_a_multichannel_customer_exports_identities_tickets_and_resolutions(seeded):
    document, _ = export(ANA)

    assert document["schema_version"] == 1
    assert document["customer"]["display_name"] == "Ana Lima"
    assert document["customer"]["segment"] == "small-business"
    assert document["customer"]["tags"] == ["vip"]
    assert {(i["kind"], i["value"]) for i in document["identities"]} == {
        ("email", "ana.lima@example.com"),
        ("phone", "+14155552671"),
        ("whatsapp", "+14155552671"),
    }
    resolved = [t for t in document["tickets"] if t["status"] == "resolved"]
    assert len(resolved) == 2
    assert all(t["resolution_note"] and t["resolved_at"] for t in resolved)
    assert {t["team"] for t in document["tickets"]} == {"Billing", "Technical support"}
    assert {t["channel"] for t in document["tickets"]} == {"email", "whatsapp", "phone"}


def test_every_event_across_channels_is_exported_oldest_first(seeded):
    document, _ = export(ANA)
    events = document["events"]
    stored = TimelineEvent.objects.filter(customer_id=document["customer"]["id"])

    assert len(events) == stored.count()
    assert [(e["occurred_at"], e["id"]) for e in events] == sorted(
        (e["occurred_at"], e["id"]) for e in events
    )
    assert {"email", "whatsapp", "phone", "sms", "internal"} <= {
        e["channel"] for e in events
    }
    assert {e["direction"] for e in events} == {"in", "out", "internal"}
    call = next(e for e in events if e["channel"] == "phone")
    assert call["sender_identity"] == "phone:+14155552671"
    reply = next(e for e in events if e["direction"] == "out")
    assert reply["author"] == "bianca" and reply["sender_identity"] is None
    note = next(e for e in events if e["kind"] == "note")
    assert note["direction"] == "internal" and note["author"]


def test_attachments_are_exported_as_metadata_and_sha256_without_bytes(seeded):
    document, raw = export(ANA)
    exported = [a for e in document["events"] for a in e["attachments"]]
    stored = Attachment.objects.filter(event__customer_id=document["customer"]["id"])

    assert {a["name"] for a in exported} == {"INV-2291.pdf", "router-lights.jpg"}
    for item in exported:
        assert set(item) == {"name", "content_type", "size", "sha256"}
        row = stored.get(name=item["name"])
        assert item["sha256"] == row.sha256 == hashlib.sha256(row.data).hexdigest()
        assert item["size"] == len(row.data)
    assert "%PDF" not in raw


def test_the_identity_is_normalised_before_the_lookup(seeded):
    ana_id = Identity.objects.get(
        kind="email", value="ana.lima@example.com"
    ).customer_id

    for identity in (
        "email:Ana.Lima@Example.COM",
        "whatsapp:14155552671",
        "phone:+1 (415) 555-2671",
    ):
        assert export(identity)[0]["customer"]["id"] == ana_id


def test_the_output_option_writes_the_document_to_a_file(seeded, tmp_path):
    target = tmp_path / "ana.json"
    out = StringIO()

    call_command("export_customer", ANA, "--output", str(target), stdout=out)

    assert out.getvalue() == ""
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["customer"]["display_name"] == "Ana Lima"


@pytest.mark.parametrize(
    ("identity", "explanation"),
    [
        (
            "email:nobody@example.com",
            "no customer has the identity email:nobody@example.com",
        ),
        ("nobody", "is not kind:value"),
        ("fax:+14155552671", "unknown identity kind 'fax'"),
        ("phone:+1 555 0100", "not a valid phone number"),
        ("email:not-an-address", "not a valid email address"),
    ],
)
def test_an_identity_that_finds_nobody_is_a_clear_error(identity, explanation):
    with pytest.raises(CommandError, match="Cannot export") as raised:
        call_command("export_customer", identity, stdout=StringIO())

    assert explanation in str(raised.value)


def customer_with_messages(address: str, count: int):
    for number in range(count):
        deliver(
            message(
                "email",
                ("email", address),
                subject=f"Question {number}",
                attachments=(
                    InboundAttachment(
                        f"scan-{number}.pdf",
                        "application/pdf",
                        f"%PDF scan {number}".encode(),
                    ),
                ),
            )
        )
    return Identity.objects.get(kind="email", value=address).customer


def queries_to_export(customer) -> tuple[int, dict]:
    out = StringIO()
    with CaptureQueriesContext(connection) as queries:
        write_export(customer_export(customer=customer), out.write)
    return len(queries), json.loads(out.getvalue())


def test_the_number_of_queries_does_not_grow_with_the_history(teams):
    few = customer_with_messages("few@example.com", 5)
    many = customer_with_messages("many@example.com", 50)

    few_queries, few_document = queries_to_export(few)
    many_queries, many_document = queries_to_export(many)

    assert len(many_document["events"]) >= 10 * 5
    assert sum(len(e["attachments"]) for e in many_document["events"]) == 50
    assert sum(len(e["attachments"]) for e in few_document["events"]) == 5
    assert many_queries == few_queries <= 5
