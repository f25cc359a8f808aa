"""A customer's profile: the segment and tags that routing rules read.

A change is written on the customer's timeline, which is why this door sits in
tickets rather than in customers.
"""

from typing import Any

from django.db import transaction

from customers.models import Customer
from tickets.actions.timeline import do_append_system_event
from tickets.models import Agent, TimelineEvent


@transaction.atomic
def do_update_customer_profile(
    *,
    customer: Customer,
    actor: Agent | None = None,
    segment: str | None = None,
    tags: list[str] | None = None,
) -> Customer:
    """Set the segment and tags that routing rules read; None leaves a field as is.

    A change is recorded on the customer's timeline; no change writes nothing.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    changes: dict[str, Any] = {}
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
