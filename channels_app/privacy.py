"""What channels_app keeps of a person, erased, and its raw payloads expired.

tickets.actions.erasure calls erase_customer_data through settings.ERASURE_HOOKS,
in the erasure's transaction, before the identities go: tickets never import
this app. tickets.actions.retention calls purge_expired_inbound through
settings.RETENTION_HOOKS.

Raw payloads are found two ways: records whose events are the customer's, and
records whose bytes mention one of the customer's identity values (an address,
a phone number with or without its plus, a visitor id), in any case. The second
reads every record's payload: erasures are rare, and a record the first way
misses (a failed one, one for a delivery status) is found by it.
"""

import uuid
from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet

from channels_app.models import ChatEntry, ChatVisitor, InboundRecord
from channels_app.widget.entries import visitor_public_id_of
from supportdesk.locks import lock_rows
from supportdesk.models import WebhookDelivery
from tickets.actions.erasure import ErasureSubject
from tickets.models import Ticket

# Records a worker has yet to finish: retention never takes them.
WAITING = (InboundRecord.Status.RECEIVED, InboundRecord.Status.PROCESSING)


def erase_customer_data(subject: ErasureSubject) -> dict[str, int]:
    """Delete the customer's raw payloads, chat visitors and webhook deliveries;
    empty the chat entries of their tickets. Returns counts by kind."""
    records = InboundRecord.objects.filter(
        Q(pk__in=_ids(_records_of_events(subject.event_ids)))
        | Q(pk__in=_ids(_records_mentioning(subject.search_values)))
    )
    if not subject.identities:
        # A retention purge of old tickets: records still waiting are work to do.
        records = records.exclude(status__in=WAITING)
    # Locked, so a worker finishing one of them finishes before it goes.
    record_ids = [record.pk for record in lock_rows(records.only("pk"))]
    inbound, _ = InboundRecord.objects.filter(pk__in=record_ids).delete()

    visitor_ids = set(
        ChatVisitor.objects.filter(_visitors_of(subject)).values_list("pk", flat=True)
    )
    # Their entries go with them.
    ChatVisitor.objects.filter(pk__in=visitor_ids).delete()
    entries = ChatEntry.objects.filter(
        Q(event_id__in=subject.event_ids) | Q(ticket_id__in=subject.ticket_ids)
    ).update(data={})

    deliveries, _ = WebhookDelivery.objects.filter(
        pk__in=_ids(_deliveries_of(subject))
    ).delete()
    return {
        "inbound_records": inbound,
        "chat_visitors": len(visitor_ids),
        "chat_entries_emptied": entries,
        "webhook_deliveries": deliveries,
    }


def purge_expired_inbound(
    *, older_than: datetime | None, dry_run: bool, batch_size: int
) -> dict[str, int]:
    """Delete raw payloads received before `older_than` that are done with
    (processed, failed or unsupported), a batch at a time. None keeps them all."""
    if older_than is None:
        return {}
    expired = InboundRecord.objects.filter(received_at__lt=older_than).exclude(
        status__in=WAITING
    )
    if dry_run:
        return {"inbound_records": expired.count()}
    deleted = 0
    while True:
        batch = list(expired.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            return {"inbound_records": deleted}
        # The status is checked again: a replay may have made one waiting.
        count, _ = (
            InboundRecord.objects.filter(pk__in=batch)
            .exclude(status__in=WAITING)
            .delete()
        )
        deleted += count


# ------------------------------------------------------------------ finding


def _ids(queryset: QuerySet) -> QuerySet:
    return queryset.values("pk")


def _records_of_events(event_ids: tuple[int, ...]) -> QuerySet:
    if not event_ids:
        return InboundRecord.objects.none()
    wanted = [str(pk) for pk in event_ids]
    if connection.vendor == "postgresql":
        condition = (
            "EXISTS (SELECT 1 FROM jsonb_array_elements_text("
            "channels_app_inboundrecord.event_ids) AS e(id) WHERE e.id = ANY(%s))"
        )
        return InboundRecord.objects.extra(where=[condition], params=[wanted])
    placeholders = ", ".join(["%s"] * len(wanted))
    condition = (
        "EXISTS (SELECT 1 FROM json_each(channels_app_inboundrecord.event_ids) "
        f"WHERE CAST(json_each.value AS TEXT) IN ({placeholders}))"
    )
    return InboundRecord.objects.extra(where=[condition], params=wanted)


def _records_mentioning(values: tuple[str, ...]) -> QuerySet:
    if not values:
        return InboundRecord.objects.none()
    # The bytes as text, any byte past ASCII written as an escape; the values
    # looked for are ASCII.
    return _mentioning(
        InboundRecord.objects.all(),
        column="channels_app_inboundrecord.payload",
        as_text="encode({}, 'escape')",
        values=values,
    )


def _visitors_of(subject: ErasureSubject) -> Q:
    if not subject.identities:
        return Q(pk__in=[])
    public_ids = {
        visitor_public_id_of(key)
        for key in Ticket.objects.filter(pk__in=subject.ticket_ids).values_list(
            "conversation_key", flat=True
        )
    } - {""}
    return (
        Q(identity_value__in=[value for _kind, value in subject.identities])
        | Q(public_id__in=[_uuid(hex_id) for hex_id in public_ids if _uuid(hex_id)])
        | Q(entries__event_id__in=subject.event_ids)
    )


def _deliveries_of(subject: ErasureSubject) -> QuerySet:
    customers, tickets = list(subject.customer_ids), list(subject.ticket_ids)
    about = (
        Q(payload__data__customer__id__in=customers)
        | Q(payload__data__message__customer_id__in=customers)
        | Q(payload__data__ticket__customer__id__in=customers)
        | Q(payload__data__merge__source_customer_id__in=customers)
        | Q(payload__data__merge__target_customer_id__in=customers)
        | Q(payload__data__ticket__id__in=tickets)
        | Q(payload__data__message__ticket_id__in=tickets)
    )
    found = WebhookDelivery.objects.filter(about)
    if not subject.search_values:
        return found
    mentioning = _mentioning(
        WebhookDelivery.objects.all(),
        column="supportdesk_webhookdelivery.payload",
        as_text="{}::text",
        values=subject.search_values,
    )
    return WebhookDelivery.objects.filter(
        Q(pk__in=_ids(found)) | Q(pk__in=_ids(mentioning))
    )


def _mentioning(
    queryset: QuerySet, *, column: str, as_text: str, values: tuple[str, ...]
) -> QuerySet:
    """Rows whose column, read as text in PostgreSQL by `as_text`, holds one of
    the values in any case."""
    if connection.vendor == "postgresql":
        text = f"lower({as_text.format(column)})"
    else:
        text = f"lower(CAST({column} AS TEXT))"
    condition = " OR ".join([f"{text} LIKE %s ESCAPE '\\'"] * len(values))
    return queryset.extra(
        where=[f"({condition})"], params=[_like(value) for value in values]
    )


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _uuid(hex_id: str) -> uuid.UUID | None:
    # A conversation key written by hand may hold anything.
    try:
        return uuid.UUID(hex=hex_id)
    except ValueError:
        return None
