"""Erasing a customer from the supervisors' pages: what goes, a reason, confirm."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from customers.models import Customer
from supportdesk.permissions import supervisor_required
from tickets.actions.erasure import ErasureError, do_erase_customer
from tickets.models import Attachment, Ticket, TimelineEvent


class ErasureForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        help_text="For the audit: the request, its date, its reference.",
    )
    confirm = forms.BooleanField(
        label="I understand this cannot be undone.", required=True
    )


def erasure_preview(customer: Customer) -> dict:
    """How much an erasure would empty: counted, not shown."""
    return {
        "identity_count": customer.identities.count(),
        "ticket_count": Ticket.objects.filter(customer=customer).count(),
        "event_count": TimelineEvent.objects.filter(customer=customer).count(),
        "attachment_count": Attachment.objects.filter(event__customer=customer).count(),
    }


@supervisor_required
def erase_customer(request: HttpRequest, customer_id: int) -> HttpResponse:
    """GET: what would go and the form; POST: the erasure."""
    customer = get_object_or_404(Customer, pk=customer_id)
    form = ErasureForm(request.POST if request.method == "POST" else None)
    error = ""
    if customer.merged_into_id:
        error = (
            f"This customer was merged into customer #{customer.merged_into_id}: "
            "erase that one."
        )
    elif request.method == "POST" and form.is_valid():
        try:
            do_erase_customer(
                customer=customer,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                via="page",
                address=request.META.get("REMOTE_ADDR"),
            )
        except ErasureError as exc:
            error = f"Not erased: {exc}."
        else:
            messages.success(request, f"Customer #{customer.pk} was erased.")
            return redirect("customer-timeline", customer.pk)
    context = {"customer": customer, "form": form, "error": error}
    context.update(erasure_preview(customer))
    status = 400 if error or (request.method == "POST" and form.errors) else 200
    return render(request, "supervisor/customer_erase.html", context, status=status)
