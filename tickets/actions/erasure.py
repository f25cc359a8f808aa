"""Erasing a customer: their personal data goes, the desk's counts stay.

One action for every door (the customer page, the API, `manage.py
erase_customer`). It removes the customer's identities, name and profile, the
words and attachments of every event on their timeline and tickets, and has
each app above this one erase what it keeps of them (settings.ERASURE_HOOKS:
raw inbound payloads, chat visitors, webhook deliveries), all in one
transaction. What stays is the shape of the history: tickets with their
channels, statuses and times, events with their kinds, the route ledger, and an
audit entry saying who erased, when, why and how much, never what.

There is no undo: nothing erased is kept anywhere to bring it back.

Retention (tickets.actions.retention) empties old resolved tickets with the same
scrubbing, minus the customer's own data.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.utils.module_loading import import_string

from customers.models import Customer, CustomerMerge, Identity, MergeSuggestion
from supportdesk.audit import record_audit
from supportdesk.locks import lock_rows
from supportdesk.models import AuditEntry
from tickets import search
from tickets.models import (
    Agent,
    Attachment,
    RouteChange,
    Ticket,
    TicketRating,
    TimelineEvent,
)

REDACTED = "[erased]"
# What an erased ticket's resolution note says (a resolved ticket has one).
ERASED_NOTE = "Erased."
# Metadata kept on an erased event: counts, ids and the desk's own codes (a
# status, a priority, a call's direction), never free text.
_KEPT_METADATA_STRINGS = frozenset(
    {"from", "to", "priority_from", "priority_to", "direction", "outcome"}
)
_CODE = re.compile(r"[a-z_]{1,32}")
# Shorter values would match inside unrelated words and payloads.
MIN_NEEDLE_LENGTH = 3


class ErasureError(Exception):
    """The erasure was refused; nothing changed."""


@dataclass(frozen=True)
class ErasureSubject:
    """What a hook erases: the data of these customers, tickets and events.

    `identities` are (kind, value) pairs as stored, for finding raw data that
    names the person (payloads, visitors); empty when a retention purge empties
    tickets of a customer who stays.
    """

    customer_ids: tuple[int, ...]
    ticket_ids: tuple[int, ...]
    event_ids: tuple[int, ...]
    identities: tuple[tuple[str, str], ...] = ()

    @property
    def search_values(self) -> tuple[str, ...]:
        """The identities' values to look for in raw data: as stored, and a
        phone number without its plus, as providers write it."""
        values: set[str] = set()
        for _kind, value in self.identities:
            for form in (value, value.lstrip("+")):
                if len(form) >= 6:
                    values.add(form.lower())
        return tuple(sorted(values))


@cache
def hook(path: str) -> Callable[..., dict[str, int]]:
    """A hook named in settings (ERASURE_HOOKS, RETENTION_HOOKS), imported once."""
    return import_string(path)


def run_erasure_hooks(subject: ErasureSubject) -> dict[str, int]:
    """Each app above tickets erases its own rows; they say how many."""
    counts: dict[str, int] = {}
    for path in settings.ERASURE_HOOKS:
        for name, count in hook(path)(subject).items():
            counts[name] = counts.get(name, 0) + count
    return counts


@transaction.atomic
def do_erase_customer(
    *,
    customer: Customer,
    actor: Agent | None,
    reason: str,
    via: str,
    address: str | None = None,
) -> AuditEntry:
    """Erase the customer and the customers merged into them, for good.

    `actor` is None from the command line, which only an operator reaches;
    `via` (page, api, command) goes in the audit entry with the counts.
    """
    reason = reason.strip()
    if not reason:
        raise ErasureError("an erasure needs a reason")
    if actor is not None and not actor.is_supervisor:
        raise ErasureError("only supervisors and admins erase customers")
    customers = _lock_customer_and_merged(customer)
    customer = customers[0]
    if customer.merged_into_id:
        raise ErasureError(
            f"this customer was merged into customer #{customer.merged_into_id}: "
            "erase that one"
        )
    customer_ids = tuple(c.pk for c in customers)
    identities = list(Identity.objects.filter(customer_id__in=customer_ids))
    ticket_ids = tuple(
        Ticket.objects.filter(customer_id__in=customer_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    events = TimelineEvent.objects.filter(
        Q(customer_id__in=customer_ids) | Q(ticket_id__in=ticket_ids)
    )
    event_ids = tuple(events.order_by("pk").values_list("pk", flat=True))
    subject = ErasureSubject(
        customer_ids=customer_ids,
        ticket_ids=ticket_ids,
        event_ids=event_ids,
        identities=tuple((i.kind, i.value) for i in identities),
    )
    needles = _needles(
        values=subject.search_values,
        names=[c.display_name for c in customers]
        + [i.display_name for i in identities],
    )

    counts: dict[str, int | str] = {
        "via": via,
        "customers": len(customer_ids),
        "identities": len(identities),
        "tickets": len(ticket_ids),
        "events": len(event_ids),
    }
    # The hooks first: they find raw data through identities still stored.
    counts.update(run_erasure_hooks(subject))
    counts["attachments"] = scrub_tickets(
        ticket_ids=ticket_ids, event_ids=event_ids, needles=needles, note=ERASED_NOTE
    )
    _scrub_customer_records(customer_ids=customer_ids, needles=needles)
    Identity.objects.filter(pk__in=[i.pk for i in identities]).delete()
    Customer.objects.filter(pk__in=customer_ids).update(
        display_name="", language="", segment="", tags=[]
    )
    return record_audit(
        action=AuditEntry.Action.CUSTOMER_ERASED,
        actor=actor,
        actor_name="" if actor is not None else "command line",
        address=address,
        target=f"customer #{customer.pk}",
        reason=redact(reason, needles),
        details=counts,
    )


def scrub_tickets(
    *,
    ticket_ids: Iterable[int],
    event_ids: Iterable[int],
    needles: re.Pattern | None = None,
    note: str = ERASED_NOTE,
) -> int:
    """Empty the words of these tickets and events and delete their attachments;
    keep their kinds, channels, statuses and times. Returns attachments deleted.

    `needles` (from _needles) are taken out of the free text that stays: the
    route ledger's reasons. `note` replaces the resolution notes.
    """
    ticket_ids, event_ids = list(ticket_ids), list(event_ids)
    attachments, _ = Attachment.objects.filter(event_id__in=event_ids).delete()
    events = TimelineEvent.objects.filter(pk__in=event_ids)
    events.update(
        sender_name="",
        subject="",
        text="",
        quoted_text="",
        html="",
        delivery_error="",
    )
    changed = []
    for event in events.exclude(metadata={}).only("pk", "metadata"):
        event.metadata = _kept_metadata(event.metadata)
        changed.append(event)
    TimelineEvent.objects.bulk_update(changed, ["metadata"], batch_size=500)
    if needles is not None:
        for event in events.exclude(external_id="").only("pk", "external_id"):
            if needles.search(event.external_id):
                # Still unique per channel, and no longer the address it held.
                event.external_id = f"erased-{event.pk}"
                event.save(update_fields=["external_id"])

    tickets = Ticket.objects.filter(pk__in=ticket_ids)
    tickets.update(subject="", conversation_key="")
    # A resolved ticket keeps a note (a constraint): this one says why it is bare.
    tickets.exclude(resolution_note="").update(resolution_note=note)
    TicketRating.objects.filter(ticket_id__in=ticket_ids).update(comment="")
    if needles is not None:
        for change in RouteChange.objects.filter(ticket_id__in=ticket_ids).only(
            "pk", "reason"
        ):
            cleaned = redact(change.reason, needles)
            if cleaned != change.reason:
                change.reason = cleaned
                change.save(update_fields=["reason"])
    if search.searches_documents():
        search.rebuild_search_documents(ticket_ids=ticket_ids)
    return attachments


def _scrub_customer_records(
    *, customer_ids: tuple[int, ...], needles: re.Pattern | None
) -> None:
    """Merges, merge suggestions and the admin's log keep ids, not the person."""
    for row in list(
        CustomerMerge.objects.filter(
            Q(source_id__in=customer_ids) | Q(target_id__in=customer_ids)
        )
    ) + list(
        MergeSuggestion.objects.filter(
            Q(customer_id__in=customer_ids) | Q(other_id__in=customer_ids)
        )
    ):
        cleaned = redact(row.reason, needles)
        if cleaned != row.reason:
            row.reason = cleaned
            row.save(update_fields=["reason"])
    identity_ids = Identity.objects.filter(customer_id__in=customer_ids).values_list(
        "pk", flat=True
    )
    LogEntry.objects.filter(
        Q(
            content_type=ContentType.objects.get_for_model(Customer),
            object_id__in=[str(pk) for pk in customer_ids],
        )
        | Q(
            content_type=ContentType.objects.get_for_model(Identity),
            object_id__in=[str(pk) for pk in identity_ids],
        )
    ).update(object_repr=REDACTED, change_message="")


def _lock_customer_and_merged(customer: Customer) -> list[Customer]:
    """The customer (first) and every customer merged into them, at any depth,
    locked."""
    ids = [customer.pk]
    frontier = [customer.pk]
    while frontier:
        frontier = list(
            Customer.objects.filter(merged_into_id__in=frontier).values_list(
                "pk", flat=True
            )
        )
        ids.extend(frontier)
    locked = {c.pk: c for c in lock_rows(Customer.objects.filter(pk__in=ids))}
    if customer.pk not in locked:
        raise ErasureError("no such customer")
    return [locked[customer.pk]] + [locked[pk] for pk in ids[1:] if pk in locked]


def _kept_metadata(metadata: dict) -> dict:
    return {
        key: value
        for key, value in metadata.items()
        if value is None
        or isinstance(value, bool | int | float)
        or (
            key in _KEPT_METADATA_STRINGS
            and isinstance(value, str)
            and _CODE.fullmatch(value)
        )
    }


def _needles(*, values: Iterable[str], names: Iterable[str]) -> re.Pattern | None:
    """One pattern matching the person's identity values, names and the words of
    their names, as whole words, in any case."""
    words: set[str] = set(values)
    for name in names:
        name = name.strip()
        if name:
            words.add(name)
            words.update(part for part in re.split(r"\W+", name) if part)
    words = {w for w in words if len(w) >= MIN_NEEDLE_LENGTH}
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def redact(text: str, needles: re.Pattern | None) -> str:
    if needles is None or not text:
        return text
    return needles.sub(REDACTED, text)
