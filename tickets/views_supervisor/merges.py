"""Supervisors' customer pages: search, merge with a preview, undo, suggestions."""

from django.contrib import messages
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from customers.actions import MergeError, do_reject_merge_suggestion
from customers.models import Customer, CustomerMerge, Identity, MergeSuggestion
from supportdesk.permissions import supervisor_required
from tickets.actions.merges import (
    do_accept_merge_suggestion,
    do_merge_customers,
    do_unmerge_customers,
)
from tickets.models import Ticket, TimelineEvent

RESULTS_SHOWN = 30
HISTORY_SHOWN = 30
TICKETS_LISTED = 50


def search_customers(query: str) -> list[Customer]:
    """Customers (not merged away) by name or by any identity's value."""
    query = query.strip()
    if not query:
        return []
    by_identity = Identity.objects.filter(
        customer=OuterRef("pk"), value__icontains=query.lower().lstrip("+")
    )
    return list(
        Customer.objects.filter(merged_into__isnull=True)
        .filter(Q(display_name__icontains=query) | Exists(by_identity))
        .prefetch_related(Prefetch("identities", queryset=Identity.objects.all()))
        .order_by("-id")[:RESULTS_SHOWN]
    )


@supervisor_required
def customer_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    return render(
        request,
        "supervisor/customers.html",
        {
            "query": query,
            "results": search_customers(query),
            "suggestions": MergeSuggestion.objects.filter(
                status=MergeSuggestion.Status.PENDING
            ).select_related("customer", "other")[:HISTORY_SHOWN],
            "merges": CustomerMerge.objects.select_related(
                "source", "target", "actor", "undone_by"
            )[:HISTORY_SHOWN],
        },
    )


def _pair(request: HttpRequest) -> tuple[Customer, Customer] | None:
    data = request.POST if request.method == "POST" else request.GET
    try:
        source_id, target_id = int(data.get("source", "")), int(data.get("target", ""))
    except ValueError:
        return None
    found = Customer.objects.in_bulk([source_id, target_id])
    if source_id not in found or target_id not in found:
        return None
    return found[source_id], found[target_id]


def merge_preview(source: Customer, target: Customer) -> dict:
    """What a merge of `source` into `target` would move: listed and counted."""
    tickets = list(
        Ticket.objects.filter(customer=source)
        .select_related("team")
        .order_by("-id")[: TICKETS_LISTED + 1]
    )
    return {
        "identities": list(source.identities.all()),
        "tickets": tickets[:TICKETS_LISTED],
        "ticket_count": (
            Ticket.objects.filter(customer=source).count()
            if len(tickets) > TICKETS_LISTED
            else len(tickets)
        ),
        "event_count": TimelineEvent.objects.filter(customer=source).count(),
        "target_identities": list(target.identities.all()),
    }


@supervisor_required
def merge(request: HttpRequest) -> HttpResponse:
    """GET: the preview of what moves; POST: the merge itself."""
    pair = _pair(request)
    if pair is None:
        messages.error(request, "Choose two customers to merge.")
        return redirect("supervisor-customers")
    source, target = pair
    error = ""
    if source.pk == target.pk:
        error = "A customer cannot be merged into itself."
    elif source.merged_into_id or target.merged_into_id:
        error = "One of these customers has already been merged away."
    if request.method == "POST" and not error:
        try:
            do_merge_customers(
                source=source,
                target=target,
                actor=request.user,
                reason=request.POST.get("reason", "").strip()[:500],
            )
        except MergeError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Merged {source} into {target}.")
            return redirect("supervisor-customers")
    context = {"source": source, "target": target, "error": error}
    if not error:
        context.update(merge_preview(source, target))
    return render(
        request, "supervisor/merge_preview.html", context, status=400 if error else 200
    )


@supervisor_required
@require_POST
def undo_merge(request: HttpRequest, merge_id: int) -> HttpResponse:
    record = get_object_or_404(CustomerMerge, pk=merge_id)
    try:
        do_unmerge_customers(merge=record, actor=request.user)
    except MergeError as exc:
        messages.error(request, f"Not undone: {exc}.")
    else:
        messages.success(request, f"Undid the merge of {record.source}.")
    return redirect("supervisor-customers")


@supervisor_required
@require_POST
def decide_suggestion(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    suggestion = get_object_or_404(
        MergeSuggestion.objects.select_related("customer", "other"), pk=suggestion_id
    )
    decision = request.POST.get("decision")
    try:
        if decision == "accept":
            do_accept_merge_suggestion(suggestion=suggestion, actor=request.user)
            messages.success(
                request, f"Merged {suggestion.other} into {suggestion.customer}."
            )
        elif decision == "reject":
            do_reject_merge_suggestion(suggestion=suggestion, actor=request.user)
            messages.success(request, "Suggestion rejected: they stay two customers.")
        else:
            return HttpResponse("decision must be accept or reject", status=400)
    except MergeError as exc:
        messages.error(request, f"Nothing changed: {exc}.")
    return redirect("supervisor-customers")
