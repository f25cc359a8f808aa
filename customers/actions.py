"""Every change to customers and identities goes through these functions."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from customers.identities import InvalidIdentityError, normalise_claims
from customers.models import Customer, CustomerMerge, Identity, MergeSuggestion
from supportdesk import events
from supportdesk.errors import ActionError
from supportdesk.locks import lock_rows
from supportdesk.oncommit import publish_on_commit
from tickets.actions.timeline import do_append_system_event
from tickets.models import Ticket, TimelineEvent


class MergeError(ActionError):
    pass


@dataclass(frozen=True)
class ResolvedSender:
    customer: Customer
    identity: Identity
    # Created by this call: nothing of the desk can belong to it yet.
    new_customer: bool = False


def _find_identities(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Identity]:
    query = Q()
    for kind, value in pairs:
        query |= Q(kind=kind, value=value)
    found = Identity.objects.filter(query).select_related("customer")
    return {(i.kind, i.value): i for i in found}


def do_resolve_sender(
    *, claims, display_name: str = "", language: str = ""
) -> ResolvedSender:
    """Find or create the customer behind a message's identities.

    Identities new to the desk join the customer of the first known one. When the
    claims belong to several customers, nothing is merged: a suggestion is recorded.
    """
    pairs = normalise_claims(claims)
    if not pairs:
        raise InvalidIdentityError("the message has no sender identity")
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _resolve(pairs, display_name.strip()[:200], language)
        except IntegrityError:
            # Another message created one of these identities meanwhile: look again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _resolve(pairs, display_name: str, language: str) -> ResolvedSender:
    known = _find_identities(pairs)
    customers = list(dict.fromkeys(known[p].customer for p in pairs if p in known))
    new_customer = not customers
    if customers:
        customer = customers[0]
    else:
        customer = Customer.objects.create(display_name=display_name, language=language)
    missing = [p for p in pairs if p not in known]
    if missing:
        created = Identity.objects.bulk_create(
            Identity(customer=customer, kind=k, value=v, display_name=display_name)
            for k, v in missing
        )
        known.update({(i.kind, i.value): i for i in created})
    updates = []
    if display_name and not customer.display_name:
        customer.display_name = display_name
        updates.append("display_name")
    if language and not customer.language:
        customer.language = language
        updates.append("language")
    if updates:
        customer.save(update_fields=updates)
    for other in customers[1:]:
        do_suggest_merge(
            customer=customer,
            other=other,
            reason="One message carried identities of both: "
            + ", ".join(f"{k}:{v}" for k, v in pairs),
        )
    return ResolvedSender(
        customer=customer, identity=known[pairs[0]], new_customer=new_customer
    )


def do_suggest_merge(*, customer: Customer, other: Customer, reason: str) -> None:
    if customer.pk == other.pk:
        return
    already = MergeSuggestion.objects.filter(
        Q(customer=customer, other=other) | Q(customer=other, other=customer),
        status=MergeSuggestion.Status.PENDING,
    ).exists()
    if already:
        return
    try:
        with transaction.atomic():
            suggestion = MergeSuggestion.objects.create(
                customer=customer, other=other, reason=reason
            )
    except IntegrityError:
        return
    publish_on_commit(
        {
            "type": events.MERGE_SUGGESTED,
            "suggestion_id": suggestion.pk,
            "customer_id": customer.pk,
            "other_id": other.pk,
        },
        [events.DESK_GROUP],
    )


@transaction.atomic
def do_update_customer_profile(
    *,
    customer: Customer,
    actor=None,
    segment: str | None = None,
    tags: list[str] | None = None,
) -> Customer:
    """Set the segment and tags that routing rules read; None leaves a field as is.

    A change is recorded on the customer's timeline; no change writes nothing.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    changes: dict = {}
    if segment is not None and segment.strip()[:64] != customer.segment:
        changes["segment"] = segment.strip()[:64]
    if tags is not None:
        cleaned = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
        if cleaned != customer.tags:
            changes["tags"] = cleaned
    if not changes:
        return customer
    for field, value in changes.items():
        setattr(customer, field, value)
    customer.save(update_fields=list(changes))
    described = []
    if "segment" in changes:
        described.append(f"segment “{customer.segment or '(none)'}”")
    if "tags" in changes:
        described.append(f"tags {', '.join(customer.tags) or '(none)'}")
    do_append_system_event(
        customer=customer,
        kind=TimelineEvent.Kind.SYSTEM,
        author=actor,
        text=f"Profile updated: {'; '.join(described)}.",
        metadata={"profile": changes},
    )
    return customer


@transaction.atomic
def do_merge_customers(
    *, source: Customer, target: Customer, actor=None, reason: str = ""
) -> CustomerMerge:
    """Move every identity, ticket and event of `source` to `target`, recorded."""
    if source.pk == target.pk:
        raise MergeError("a customer cannot be merged into itself")
    source, target = _lock_pair(source, target)
    if source.merged_into_id or target.merged_into_id:
        raise MergeError("one of these customers has already been merged away")

    identity_ids = list(source.identities.values_list("id", flat=True))
    ticket_ids = list(
        Ticket.objects.filter(customer=source).values_list("id", flat=True)
    )
    event_ids = list(
        TimelineEvent.objects.filter(customer=source).values_list("id", flat=True)
    )
    Identity.objects.filter(id__in=identity_ids).update(customer=target)
    Ticket.objects.filter(id__in=ticket_ids).update(customer=target)
    TimelineEvent.objects.filter(id__in=event_ids).update(customer=target)
    source.merged_into = target
    source.save(update_fields=["merged_into"])
    merge = CustomerMerge.objects.create(
        source=source,
        target=target,
        actor=actor,
        reason=reason,
        moved_identity_ids=identity_ids,
        moved_ticket_ids=ticket_ids,
        moved_event_ids=event_ids,
    )
    MergeSuggestion.objects.filter(
        Q(customer=source, other=target) | Q(customer=target, other=source),
        status=MergeSuggestion.Status.PENDING,
    ).update(
        status=MergeSuggestion.Status.ACCEPTED,
        decided_by=actor,
        decided_at=timezone.now(),
    )
    do_append_system_event(
        customer=target,
        kind="merge",
        author=actor,
        text=f"Merged {source} (customer #{source.pk}) into this customer: "
        f"{len(identity_ids)} identities, {len(ticket_ids)} tickets, "
        f"{len(event_ids)} events. {reason}".strip(),
        metadata={"merge_id": merge.pk, "source_id": source.pk},
    )
    publish_on_commit(
        {
            "type": events.CUSTOMER_MERGED,
            "merge_id": merge.pk,
            "source_id": source.pk,
            "target_id": target.pk,
        },
        [
            events.customer_group(source.pk),
            events.customer_group(target.pk),
            events.DESK_GROUP,
        ],
    )
    return merge


@transaction.atomic
def do_unmerge_customers(*, merge: CustomerMerge, actor=None) -> CustomerMerge:
    """Undo a merge: what it moved goes back to the source customer."""
    merge = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.is_undone:
        raise MergeError("this merge has already been undone")
    source, target = _lock_pair(merge.source, merge.target)
    if target.merged_into_id:
        # What this merge moved now lives on a later survivor.
        raise MergeError("undo the later merge of the survivor first")
    Identity.objects.filter(id__in=merge.moved_identity_ids, customer=target).update(
        customer=source
    )
    Ticket.objects.filter(id__in=merge.moved_ticket_ids, customer=target).update(
        customer=source
    )
    # Messages that joined a moved ticket after the merge go back with their ticket;
    # the survivor keeps what arrived on its own tickets.
    TimelineEvent.objects.filter(
        Q(id__in=merge.moved_event_ids) | Q(ticket_id__in=merge.moved_ticket_ids),
        customer=target,
    ).update(customer=source)
    source.merged_into = None
    source.save(update_fields=["merged_into"])
    merge.undone_at = timezone.now()
    merge.undone_by = actor
    merge.save(update_fields=["undone_at", "undone_by"])
    do_append_system_event(
        customer=target,
        kind="merge",
        author=actor,
        text=f"Undid the merge of {source} (customer #{source.pk}) into this customer.",
        metadata={"merge_id": merge.pk, "source_id": source.pk, "undone": True},
    )
    publish_on_commit(
        {
            "type": events.CUSTOMER_UNMERGED,
            "merge_id": merge.pk,
            "source_id": source.pk,
            "target_id": target.pk,
        },
        [
            events.customer_group(source.pk),
            events.customer_group(target.pk),
            events.DESK_GROUP,
        ],
    )
    return merge


def _lock_pair(first: Customer, second: Customer) -> tuple[Customer, Customer]:
    rows = {
        c.pk: c
        for c in lock_rows(Customer.objects.filter(pk__in=[first.pk, second.pk]))
    }
    return rows[first.pk], rows[second.pk]


@transaction.atomic
def do_accept_merge_suggestion(*, suggestion: MergeSuggestion, actor) -> CustomerMerge:
    suggestion = MergeSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != MergeSuggestion.Status.PENDING:
        raise MergeError(f"this suggestion is already {suggestion.status}")
    return do_merge_customers(
        source=suggestion.other,
        target=suggestion.customer,
        actor=actor,
        reason=f"Accepted merge suggestion #{suggestion.pk}",
    )


@transaction.atomic
def do_reject_merge_suggestion(*, suggestion: MergeSuggestion, actor) -> None:
    suggestion = MergeSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != MergeSuggestion.Status.PENDING:
        raise MergeError(f"this suggestion is already {suggestion.status}")
    suggestion.status = MergeSuggestion.Status.REJECTED
    suggestion.decided_by = actor
    suggestion.decided_at = timezone.now()
    suggestion.save(update_fields=["status", "decided_by", "decided_at"])
