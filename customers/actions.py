"""Every change to customers and identities alone goes through these functions.

Changes that also reach tickets or the timeline (profile updates, merges and
their undoing) are tickets' actions: tickets.actions.profiles and .merges.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from customers.identities import Claim, InvalidIdentityError, normalise_claims
from customers.models import Customer, Identity, MergeSuggestion
from supportdesk import events
from supportdesk.errors import ActionError
from supportdesk.oncommit import publish_on_commit


class MergeError(ActionError):
    """A merge, its undoing or a suggestion's decision that cannot be done."""


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
    *, claims: Iterable[Claim], display_name: str = "", language: str = ""
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


def _resolve(
    pairs: list[tuple[str, str]], display_name: str, language: str
) -> ResolvedSender:
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
def do_reject_merge_suggestion(
    *, suggestion: MergeSuggestion, actor: AbstractBaseUser | None
) -> None:
    suggestion = MergeSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if suggestion.status != MergeSuggestion.Status.PENDING:
        raise MergeError(f"this suggestion is already {suggestion.status}")
    suggestion.status = MergeSuggestion.Status.REJECTED
    # By id: the user model is defined above customers, which may not import it.
    suggestion.decided_by_id = actor.pk if actor is not None else None
    suggestion.decided_at = timezone.now()
    suggestion.save(update_fields=["status", "decided_by", "decided_at"])
