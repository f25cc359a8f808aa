"""The customer page: one timeline across every channel and ticket."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from customers.models import Customer
from tickets.timeline import (
    InvalidCursorError,
    customer_tickets,
    customer_timeline,
    customers_visible_to,
)

# The side list of tickets is bounded like the timeline: a customer with thousands
# of tickets must not make the page slower than one with two.
TICKETS_SHOWN = 20


@login_required
def timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    try:
        page = customer_timeline(
            viewer=request.user,
            customer_id=customer_id,
            cursor=request.GET.get("cursor"),
        )
    except (Customer.DoesNotExist, InvalidCursorError):
        raise Http404("No such customer") from None
    customer = page.customer
    tickets, more_tickets = customer_tickets(customer=customer, limit=TICKETS_SHOWN)
    return render(
        request,
        "customers/timeline.html",
        {
            "customer": customer,
            "identities": customer.identities.all(),
            "tickets": tickets,
            "more_tickets": more_tickets,
            "page": page,
            "others": customers_visible_to(request.user).order_by("-id")[:30],
        },
    )
