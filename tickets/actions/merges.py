"""Merging two customers into one and undoing it, recorded so nothing is lost.

A merge moves tickets and timeline events as well as identities, so it lives in
tickets; suggestions are made and rejected in customers.actions, which touches
customers alone.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from customers.actions import MergeError
from customers.models import Customer, CustomerMerge, Identity, MergeSuggestion
from supportdesk import events
from supportdesk.locks import lock_rows
from supportdesk.oncommit import publish_on_commit
from tickets.actions.timeline import do_append_system_event
from tickets.models import Agent, Ticket, TimelineEvent


@transaction.atomic
def do_merge_customers(
    *,
    source: Customer,
    target: Customer,
    actor: Agent | None = None,
    reason: str = "",
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
def do_unmerge_customers(
    *, merge: CustomerMerge, actor: Agent | None = None
) -> CustomerMerge:
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
def do_accept_merge_suggestion(
    *, suggestion: MergeSuggestion, actor: Agent | None
) -> CustomerMerge:
    suggestion = MergeSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != MergeSuggestion.Status.PENDING:
        raise MergeError(f"this suggestion is already {suggestion.status}")
    return do_merge_customers(
        source=suggestion.other,
        target=suggestion.customer,
        actor=actor,
        reason=f"Accepted merge suggestion #{suggestion.pk}",
    )
