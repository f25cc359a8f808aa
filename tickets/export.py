"""One customer's data as a JSON document: profile, identities, tickets, timeline.

A read, not an action: nothing is written. The document's shape is described in
docs/export-schema.md; change SCHEMA_VERSION with any change to it.

It is the operator's full record, as a supervisor sees it, internal notes of
every team included; a door that let an agent export would pass the events
through the timeline's rule (tickets.selectors.timeline_events_visible_to) first.

Events are streamed, so a customer with a long history never sits in memory at
once, and the whole export costs five queries however long that history is: the
attachment metadata comes from one ordered query walked alongside the events,
rather than a prefetch that would repeat per chunk of events.
"""

import json
from collections.abc import Callable, Iterator
from datetime import datetime

from django.utils import timezone

from customers.models import Customer
from tickets.models import Attachment, Ticket, TimelineEvent

SCHEMA_VERSION = 1
# Rows fetched per round trip while events and attachments stream.
CHUNK_SIZE = 500


def customer_export(*, customer: Customer) -> dict:
    """The export document; its "events" entry is an iterator, read it once."""
    identities = customer.identities.order_by("kind", "value")
    tickets = (
        Ticket.objects.filter(customer=customer)
        .select_related("team", "assignee")
        .order_by("created_at", "id")
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "exported_at": _iso(timezone.now()),
        "customer": {
            "id": customer.pk,
            "display_name": customer.display_name,
            "language": customer.language,
            "segment": customer.segment,
            "tags": list(customer.tags or []),
            "created_at": _iso(customer.created_at),
        },
        "identities": [
            {
                "kind": identity.kind,
                "value": identity.value,
                "display_name": identity.display_name,
                "verified": identity.verified,
            }
            for identity in identities
        ],
        "tickets": [
            {
                "id": ticket.pk,
                "subject": ticket.subject,
                "channel": ticket.channel,
                "status": ticket.status,
                "priority": ticket.priority,
                "team": ticket.team.name if ticket.team else None,
                "assignee": ticket.assignee.username if ticket.assignee else None,
                "created_at": _iso(ticket.created_at),
                "resolved_at": _iso(ticket.resolved_at),
                "resolution_note": ticket.resolution_note,
            }
            for ticket in tickets
        ],
        "events": _events(customer),
    }


def _events(customer: Customer) -> Iterator[dict]:
    """Every timeline event, oldest first, each with its attachments' metadata."""
    events = (
        TimelineEvent.objects.filter(customer=customer)
        .select_related("author", "sender_identity")
        .order_by("occurred_at", "id")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    # Same order as the events, so one pass pairs them; the bytes are never read.
    attachments = (
        Attachment.objects.filter(event__customer=customer)
        .order_by("event__occurred_at", "event_id", "id")
        .values(
            "event_id", "event__occurred_at", "name", "content_type", "size", "sha256"
        )
        .iterator(chunk_size=CHUNK_SIZE)
    )
    pending = next(attachments, None)
    for event in events:
        position = (event.occurred_at, event.pk)
        found = []
        # An attachment ordered up to this event but not on it belongs to an event
        # the events query never saw (written or moved after it ran): skip it.
        while (
            pending and (pending["event__occurred_at"], pending["event_id"]) <= position
        ):
            if pending["event_id"] == event.pk:
                found.append(pending)
            pending = next(attachments, None)
        yield _event_document(event, found)


def _event_document(event: TimelineEvent, attachments: list[dict]) -> dict:
    sender = event.sender_identity
    return {
        "id": event.pk,
        "ticket_id": event.ticket_id,
        "occurred_at": _iso(event.occurred_at),
        "channel": event.channel,
        "kind": event.kind,
        "direction": event.direction,
        "sender_identity": f"{sender.kind}:{sender.value}" if sender else None,
        "sender_name": event.sender_name,
        "author": event.author.username if event.author else None,
        "subject": event.subject,
        "text": event.text,
        "quoted_text": event.quoted_text,
        "html": event.html,
        "delivery_status": event.delivery_status,
        "attachments": [
            {
                "name": item["name"],
                "content_type": item["content_type"],
                "size": item["size"],
                "sha256": item["sha256"],
            }
            for item in attachments
        ],
    }


def write_export(document: dict, write: Callable[[str], object]) -> None:
    """Write the document as JSON, one event per line, while events stream."""
    head = {key: value for key, value in document.items() if key != "events"}
    opening = json.dumps(head, indent=2, ensure_ascii=False)
    # The head ends with "\n}": the events list goes in before that brace.
    write(opening[:-2] + ',\n  "events": [')
    separator = "\n    "
    for event in document["events"]:
        write(separator + json.dumps(event, ensure_ascii=False))
        separator = ",\n    "
    write("\n  ]\n}\n")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
