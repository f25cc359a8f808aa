import json

import pytest
from django.conf import settings

from channels_app.adapters.meta import hub_signature
from channels_app.models import InboundRecord
from customers.models import Identity
from tests.channels_app.meta_support import (
    APP_SECRET,
    VERIFY_TOKEN,
    corpus_payloads,
    delivered,
    first_message,
    first_value,
    post_webhook,
    serve_media,
    whatsapp_example,
)
from tickets.actions.tickets import do_resolve_ticket
from tickets.models import TicketStatus, TimelineEvent

pytestmark = pytest.mark.django_db

CORPUS = sorted(
    path.stem
    for path in (settings.BASE_DIR.parent / "shared" / "corpus" / "whatsapp").glob(
        "*.json"
    )
)
# Corpus files about things the desk does not handle: stored, marked unsupported.
UNSUPPORTED = {
    "account_update",
    "call_connect",
    "call_status",
    "call_terminate",
    "template_category_update",
    "template_components_update",
    "template_quality_update",
    "template_status_update",
    "user_marketing_preferences",
}


def event_of(record: InboundRecord) -> TimelineEvent:
    assert record.status == InboundRecord.Status.PROCESSED, record.error
    [event_id] = record.event_ids
    return TimelineEvent.objects.get(pk=event_id)


# ----------------------------------------------------------------- the corpus


def test_the_whatsapp_corpus_is_all_there(corpus_dir):
    assert len(list((corpus_dir / "whatsapp").glob("*.json"))) == 19
    assert set(CORPUS) >= UNSUPPORTED | {"message", "message_status", "edited_message"}


@pytest.mark.parametrize("file", CORPUS)
def test_every_corpus_payload_is_accepted_and_processed_or_marked_unsupported(
    file, corpus_dir, client, whatsapp_inbox, graph, teams
):
    serve_media(graph)
    document = json.loads((corpus_dir / "whatsapp" / f"{file}.json").read_text())
    examples = list(corpus_payloads(document))
    assert examples

    for name, payload in examples:
        response = post_webhook(client, "whatsapp", payload)
        assert response.status_code == 200, (name, response.content)
        record = InboundRecord.objects.get(pk=response.json()["received"])
        expected = "unsupported" if file in UNSUPPORTED else "processed"
        assert (name, record.status) == (name, expected), record.error
        if expected == "unsupported":
            field = payload["entry"][0]["changes"][0]["field"]
            assert field in record.error


def test_a_text_message_opens_a_whatsapp_ticket_for_the_sender(
    client, whatsapp_inbox, corpus_dir, teams
):
    record = delivered(
        client, "whatsapp", whatsapp_example(corpus_dir, "message", "text")
    )

    event = event_of(record)
    assert (event.kind, event.channel, event.text) == (
        "message_in",
        "whatsapp",
        "Body Text",
    )
    assert event.external_id == "wamid.xyzxyz"
    assert event.sender_name == "Test Name"
    assert event.inbox == whatsapp_inbox
    assert event.occurred_at.timestamp() == 1697043223
    assert event.ticket.channel == "whatsapp"
    assert event.ticket.inbox == whatsapp_inbox
    assert set(
        Identity.objects.filter(customer=event.customer).values_list("kind", "value")
    ) == {("whatsapp", "+972987654321"), ("phone", "+972987654321")}


def test_a_duplicate_delivery_changes_nothing(
    client, whatsapp_inbox, corpus_dir, teams
):
    payload = whatsapp_example(corpus_dir, "message", "text")
    first = post_webhook(client, "whatsapp", payload)
    events = TimelineEvent.objects.count()

    again = post_webhook(client, "whatsapp", payload)

    assert again.status_code == 200
    assert again.json() == {"received": first.json()["received"], "duplicate": True}
    assert InboundRecord.objects.count() == 1
    assert TimelineEvent.objects.count() == events


def test_the_same_message_in_another_delivery_is_stored_once(
    client, whatsapp_inbox, corpus_dir, teams
):
    """Meta may batch a message it already sent alone: one event still."""
    payload = whatsapp_example(corpus_dir, "message", "text")
    first = delivered(client, "whatsapp", payload)
    payload["entry"][0]["time"] = 1700000000
    second = delivered(client, "whatsapp", payload)

    assert first.pk != second.pk
    assert second.event_ids == first.event_ids
    assert TimelineEvent.objects.filter(external_id="wamid.xyzxyz").count() == 1


# ------------------------------------------------------------- what arrives


def test_a_location_shows_its_name_address_and_coordinates(
    client, whatsapp_inbox, corpus_dir, teams
):
    payload = whatsapp_example(corpus_dir, "message", "chosen_location")

    event = event_of(delivered(client, "whatsapp", payload))

    assert event.text.splitlines() == [
        "Location: Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025 "
        "(37.4611978, -122.2164385)",
        "https://maps.google.com/?cid=2000000000000000000",
    ]
    assert event.metadata["location"]["latitude"] == 37.4611978
    assert event.metadata["forwarded"] is True


def test_shared_contacts_are_listed_with_their_numbers(
    client, whatsapp_inbox, corpus_dir, teams
):
    payload = whatsapp_example(corpus_dir, "message", "contacts")

    event = event_of(delivered(client, "whatsapp", payload))

    assert event.text.splitlines() == [
        "Shared contacts:",
        "- Chandler Bing: +1 555-555-5555 (CELL)",
        "- Monica: +1 666-666-6666 (HOME)",
        "- Rachel Green: +1 777-777-7777 (WORK)",
    ]
    assert len(event.metadata["contacts"]) == 3


def test_button_and_list_replies_read_as_what_the_customer_chose(
    client, whatsapp_inbox, corpus_dir, teams
):
    button = event_of(
        delivered(
            client,
            "whatsapp",
            whatsapp_example(corpus_dir, "callback_button", "button"),
        )
    )
    listed = event_of(
        delivered(
            client,
            "whatsapp",
            whatsapp_example(corpus_dir, "callback_selection", "description"),
        )
    )

    assert button.text == "title"
    assert button.metadata["interactive"] == {
        "type": "button_reply",
        "id": "callback_data",
        "title": "title",
    }
    assert listed.text == "title\ndescription"


def test_a_flow_reply_keeps_the_submitted_answers(
    client, whatsapp_inbox, corpus_dir, teams
):
    payload = whatsapp_example(corpus_dir, "flow_completion", "completion")

    event = event_of(delivered(client, "whatsapp", payload))

    assert event.text == "Sent"
    assert event.metadata["flow"]["response"]["comment_text"] == "Comment Text"


def test_a_flow_reply_with_answers_nested_too_deep_still_lands(
    client, whatsapp_inbox, corpus_dir, teams
):
    """The form's answers are the customer's JSON inside Meta's: nested past
    JSON_MAX_DEPTH they are kept as text, and the message is on the timeline."""
    payload = whatsapp_example(corpus_dir, "flow_completion", "completion")
    deep = "[" * 50_000 + "]" * 50_000
    first_message(payload)["interactive"]["nfm_reply"]["response_json"] = deep

    event = event_of(delivered(client, "whatsapp", payload))

    assert event.text == "Sent"
    assert event.metadata["flow"]["response"] == deep


def test_a_message_whatsapp_could_not_pass_on_still_shows_on_the_timeline(
    client, whatsapp_inbox, corpus_dir, teams
):
    payload = whatsapp_example(corpus_dir, "message", "unsupported_with_type")

    event = event_of(delivered(client, "whatsapp", payload))

    assert event.kind == "message_in"
    assert event.text == (
        "[A WhatsApp message the desk cannot show: unsupported (pool). "
        "Message type is currently not supported.]"
    )
    assert event.metadata["errors"][0]["code"] == 131051


def test_a_reply_threads_onto_the_ticket_it_quotes_and_shows_what_it_quotes(
    client, whatsapp_inbox, corpus_dir, teams, tech_agent
):
    first = event_of(
        delivered(client, "whatsapp", whatsapp_example(corpus_dir, "message", "text"))
    )
    do_resolve_ticket(ticket=first.ticket, actor=tech_agent, resolution_note="Done")
    payload = whatsapp_example(corpus_dir, "message", "reply")
    first_message(payload)["id"] = "wamid.reply"
    first_message(payload)["context"]["id"] = "wamid.xyzxyz"

    reply = event_of(delivered(client, "whatsapp", payload))

    assert reply.text == "replied text"
    assert reply.ticket == first.ticket
    assert reply.metadata["replies_to"] == ["wamid.xyzxyz"]
    assert reply.metadata["quoted"] == {
        "id": "wamid.xyzxyz",
        "event_id": first.pk,
        "text": "Body Text",
        "kind": "message_in",
    }
    first.ticket.refresh_from_db()
    assert first.ticket.status == TicketStatus.OPEN


def test_a_reaction_says_which_emoji_reacted_to_which_message(
    client, whatsapp_inbox, corpus_dir, teams
):
    first = event_of(
        delivered(client, "whatsapp", whatsapp_example(corpus_dir, "message", "text"))
    )
    payload = whatsapp_example(corpus_dir, "message", "reaction")
    first_message(payload)["id"] = "wamid.reaction"
    first_message(payload)["reaction"]["message_id"] = "wamid.xyzxyz"

    reaction = event_of(delivered(client, "whatsapp", payload))

    assert reaction.text == "Reacted \U0001f62e to “Body Text”"
    assert reaction.kind == "system"
    assert reaction.ticket == first.ticket
    assert reaction.metadata["reaction"] == {
        "message_id": "wamid.xyzxyz",
        "emoji": "\U0001f62e",
    }
    assert reaction.metadata["quoted"]["event_id"] == first.pk


def test_a_removed_reaction_opens_no_ticket(client, whatsapp_inbox, corpus_dir, teams):
    payload = whatsapp_example(corpus_dir, "message", "unreaction_empty")

    event = event_of(delivered(client, "whatsapp", payload))

    assert event.text == "Removed a reaction from a message"
    assert event.ticket is None
    assert event.metadata["reaction"] == {"message_id": "wamid.yzxyzx=", "emoji": ""}


def test_a_changed_number_joins_the_same_customer(
    client, whatsapp_inbox, corpus_dir, teams
):
    first = event_of(
        delivered(client, "whatsapp", whatsapp_example(corpus_dir, "message", "text"))
    )
    payload = whatsapp_example(corpus_dir, "system", "phone_number_change")

    notice = event_of(delivered(client, "whatsapp", payload))

    assert notice.kind == "system"
    assert notice.text == "User A changed from 972987654321 to 972912345678"
    assert notice.customer == first.customer
    assert Identity.objects.get(kind="whatsapp", value="+972912345678").customer == (
        first.customer
    )


# ------------------------------------------------------------- edits, deletes


def test_an_edit_changes_the_text_and_keeps_the_earlier_one(
    client, whatsapp_inbox, corpus_dir, teams
):
    original = event_of(
        delivered(client, "whatsapp", whatsapp_example(corpus_dir, "message", "text"))
    )
    payload = whatsapp_example(corpus_dir, "edited_message", "image")
    first_message(payload)["edit"]["original_message_id"] = "wamid.xyzxyz"

    record = delivered(client, "whatsapp", payload)

    assert record.status == "processed", record.error
    original.refresh_from_db()
    assert original.text == "Updated image caption"
    [revision] = original.metadata["revisions"]
    assert revision["previous_text"] == "Body Text"
    assert revision["deleted"] is False


def test_a_deletion_marks_the_message_and_keeps_its_text(
    client, whatsapp_inbox, corpus_dir, teams
):
    original = event_of(
        delivered(client, "whatsapp", whatsapp_example(corpus_dir, "message", "text"))
    )
    payload = whatsapp_example(corpus_dir, "deleted_message", "revoke")
    first_message(payload)["revoke"]["original_message_id"] = "wamid.xyzxyz"

    delivered(client, "whatsapp", payload)

    original.refresh_from_db()
    assert original.text == "Body Text"
    assert original.metadata["deleted"] is True
    assert original.metadata["revisions"][0]["deleted"] is True


def test_a_message_sent_from_the_business_app_shows_as_a_system_event(
    client, whatsapp_inbox, corpus_dir, teams
):
    payload = whatsapp_example(corpus_dir, "outgoing_message", "text")

    event = event_of(delivered(client, "whatsapp", payload))

    assert event.kind == "system"
    assert event.text == "Sent from the WhatsApp Business app: Test message"
    assert event.ticket is None
    assert event.customer.identities.filter(value="+972987654321").exists()


# ------------------------------------------------------------ unsupported


def test_an_update_the_desk_does_not_handle_is_kept_and_marked_unsupported(
    client, whatsapp_inbox, corpus_dir, teams
):
    payload = whatsapp_example(corpus_dir, "template_status_update", "approved")

    record = delivered(client, "whatsapp", payload)

    assert record.status == InboundRecord.Status.UNSUPPORTED
    assert "message_template_status_update" in record.error
    assert bytes(record.payload) == json.dumps(payload).encode()
    assert not TimelineEvent.objects.exists()


def test_a_mixed_payload_processes_messages_and_names_what_it_skipped(
    client, whatsapp_inbox, corpus_dir, teams
):
    payload = whatsapp_example(corpus_dir, "message", "text")
    template = whatsapp_example(corpus_dir, "template_status_update", "approved")
    payload["entry"] += template["entry"]

    event = event_of(delivered(client, "whatsapp", payload))

    assert event.text == "Body Text"
    assert event.metadata["unhandled"] == ["message_template_status_update updates"]


def test_a_payload_that_is_not_json_fails_visibly(client, whatsapp_inbox):
    """Signed but not JSON: stored, answered 400, failed where supervisors look."""
    response = post_webhook(client, "whatsapp", b"{not json")

    assert response.status_code == 400
    record = InboundRecord.objects.get(pk=response.json()["received"])
    assert record.status == InboundRecord.Status.FAILED
    assert "not JSON" in record.error


# --------------------------------------------------------------- the door


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "sha256=" + "0" * 64,
        hub_signature("another-secret", b'{"object": "whatsapp_business_account"}'),
        "",
    ],
    ids=["missing", "wrong", "other-body-and-secret", "empty"],
)
def test_a_post_without_a_good_signature_is_refused_and_stores_nothing(
    signature, client, whatsapp_inbox, corpus_dir
):
    payload = whatsapp_example(corpus_dir, "message", "text")

    response = post_webhook(client, "whatsapp", payload, signature=signature)

    assert response.status_code in (401, 403)
    assert not InboundRecord.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_a_signature_over_a_re_serialised_body_is_refused(
    client, whatsapp_inbox, corpus_dir
):
    raw = json.dumps(whatsapp_example(corpus_dir, "message", "text"), indent=2).encode()
    reserialised = json.dumps(json.loads(raw)).encode()
    assert reserialised != raw

    response = post_webhook(
        client, "whatsapp", raw, signature=hub_signature(APP_SECRET, reserialised)
    )

    assert response.status_code in (401, 403)
    assert not InboundRecord.objects.exists()


def test_the_signature_is_checked_over_the_exact_bytes_sent(
    client, whatsapp_inbox, corpus_dir, teams
):
    raw = json.dumps(whatsapp_example(corpus_dir, "message", "text"), indent=2).encode()

    response = post_webhook(client, "whatsapp", raw)

    assert response.status_code == 200
    assert bytes(InboundRecord.objects.get().payload) == raw


def test_a_disabled_or_unknown_inbox_is_not_found(client, whatsapp_inbox, corpus_dir):
    payload = whatsapp_example(corpus_dir, "message", "text")
    assert post_webhook(client, "whatsapp", payload, slug="nope").status_code == 404
    whatsapp_inbox.enabled = False
    whatsapp_inbox.save(update_fields=["enabled"])
    assert post_webhook(client, "whatsapp", payload).status_code == 404
    assert not InboundRecord.objects.exists()


def test_the_handshake_echoes_the_challenge_for_the_right_token(client, whatsapp_inbox):
    response = client.get(
        "/webhooks/whatsapp/support/",
        {
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )

    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        {
            "hub.mode": "unsubscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1",
        },
        {"hub.challenge": "1"},
    ],
    ids=["wrong-token", "wrong-mode", "no-token"],
)
def test_the_handshake_refuses_a_wrong_token_or_mode(query, client, whatsapp_inbox):
    response = client.get("/webhooks/whatsapp/support/", query)

    assert response.status_code == 403
    assert b"1" not in response.content


def test_statuses_of_unknown_messages_change_nothing(
    client, whatsapp_inbox, corpus_dir
):
    payload = whatsapp_example(corpus_dir, "message_status", "delivered")

    record = delivered(client, "whatsapp", payload)

    assert record.status == InboundRecord.Status.PROCESSED
    assert record.event_ids == []


def test_a_status_the_desk_does_not_know_is_named_in_the_record(
    client, whatsapp_inbox, corpus_dir
):
    payload = whatsapp_example(corpus_dir, "message_status", "sent")
    first_value(payload)["statuses"][0]["status"] = "warning"

    record = delivered(client, "whatsapp", payload)

    assert record.status == InboundRecord.Status.UNSUPPORTED
    assert "'warning'" in record.error
