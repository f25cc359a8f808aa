"""The ticket page and its partials: reads only."""

from django.contrib.auth.decorators import login_required
from django.db.models import Max, Prefetch, Q, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from customers.models import Customer
from tickets.actions.tickets import channel_adapter
from tickets.models import Attachment, Ticket, TicketRating, TimelineEvent
from tickets.selectors import ticket_for_agent, timeline_events_visible_to
from tickets.timeline import InvalidCursorError, customer_tickets, customer_timeline
from tickets.views_ticket.forms import STATUS_CHOICES, call_form, reply_channels

# The side list is bounded like the timeline: thousands of earlier tickets cost
# what two do.
TICKETS_SHOWN = 20
# Events newer than the agent's last look, fetched when the desk says one arrived.
NEWER_SHOWN = 100
# New messages shown when a reply is stopped for being composed against old news.
STALE_SHOWN = 20
MESSAGE_KINDS = (
    TimelineEvent.Kind.MESSAGE_IN,
    TimelineEvent.Kind.MESSAGE_OUT,
    TimelineEvent.Kind.CALL,
)
HEADER = "tickets/partials/header.html"


def ticket_or_404(request: HttpRequest, ticket_id: int) -> Ticket:
    try:
        return ticket_for_agent(request.user, ticket_id)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket") from None


def fresh_header_context(ticket: Ticket, **context) -> dict:
    """The header after a change: the ticket read again, as the action left it."""
    fresh = Ticket.objects.select_related("customer", "team", "assignee")
    return header_context(fresh.get(pk=ticket.pk), **context)


def with_details(events):
    return events.select_related(
        "ticket", "ticket__team", "author", "sender_identity"
    ).prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.defer("data"))
    )


def newer_messages(ticket: Ticket, seen_event_id: int) -> list[TimelineEvent]:
    """Messages the agent had not seen: on this ticket from anyone, and anything
    the customer wrote on any channel."""
    rows = (
        TimelineEvent.objects.filter(
            customer_id=ticket.customer_id, pk__gt=seen_event_id, kind__in=MESSAGE_KINDS
        )
        .filter(Q(ticket_id=ticket.pk) | Q(kind=TimelineEvent.Kind.MESSAGE_IN))
        .order_by("-occurred_at", "-id")
    )
    return list(with_details(rows)[:STALE_SHOWN])


def teammates(ticket: Ticket) -> list:
    if not ticket.team_id:
        return []
    return list(ticket.team.agents.filter(is_active=True).order_by("username"))


def reply_context(ticket: Ticket, **context) -> dict:
    identity_kinds = {i.kind for i in ticket.customer.identities.all()}
    channels, default = reply_channels(ticket, identity_kinds)
    if not context.get("channel"):
        context["channel"] = default
    if "seen_event_id" not in context:
        newest = TimelineEvent.objects.filter(customer_id=ticket.customer_id)
        context["seen_event_id"] = newest.aggregate(m=Max("id"))["m"] or 0
    selected = next((c for c in channels if c.value == context["channel"]), None)
    return {
        "ticket": ticket,
        "channels": channels,
        "selected_channel": selected,
        "window_closed": bool(selected and not selected.window_open),
        **context,
    }


def header_context(ticket: Ticket, **context) -> dict:
    # A query each, whatever the history: the rating, and a live channel's
    # contact (a chat ticket's visitor).
    adapter = channel_adapter(ticket.channel)
    contact = adapter.live_contact(ticket) if adapter else None
    return {
        "ticket": ticket,
        "identities": ticket.customer.identities.all(),
        "teammates": teammates(ticket),
        "rating": TicketRating.objects.filter(ticket_id=ticket.pk).first(),
        "live_contact": contact,
        "status_choices": STATUS_CHOICES,
        "priority_choices": Ticket.Priority.choices,
        **context,
    }


def answer(
    request: HttpRequest,
    ticket: Ticket,
    template: str,
    context: dict,
    *,
    status: int = 200,
    header: bool = False,
    timeline_changed: bool = False,
) -> HttpResponse:
    """The posted box re-rendered; after a change, the header too (out of band)
    and a nudge for the page to fetch the timeline's new events. A plain form post
    that worked goes back to the page."""
    if status == 200 and not request.headers.get("HX-Request"):
        return redirect("ticket", ticket_id=ticket.pk)
    html = render_to_string(template, context, request=request)
    if header:
        context = fresh_header_context(ticket, oob=True)
        html += render_to_string(HEADER, context, request=request)
    response = HttpResponse(html, status=status)
    if timeline_changed:
        response["HX-Trigger"] = "desk:timeline-changed"
    return response


@login_required
@require_GET
def ticket_page(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_or_404(request, ticket_id)
    try:
        page = customer_timeline(viewer=request.user, customer_id=ticket.customer_id)
    except Customer.DoesNotExist:
        raise Http404("No such ticket") from None
    # One read of the identities serves the header, the reply and the call form.
    customer = ticket.customer = page.customer
    prefetch_related_objects([customer], "identities")
    tickets, more_tickets = customer_tickets(customer=customer, limit=TICKETS_SHOWN)
    return render(
        request,
        "tickets/ticket.html",
        {
            **header_context(ticket),
            **reply_context(
                ticket, seen_event_id=max((e.pk for e in page.events), default=0)
            ),
            "page": page,
            "earlier_tickets": [t for t in tickets if t.pk != ticket.pk],
            "more_tickets": more_tickets,
            "call_form": call_form(ticket),
        },
    )


@login_required
@require_GET
def timeline_events(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Older events (?cursor=, as the agent scrolls) or newer ones (?after=<id>)."""
    ticket = ticket_or_404(request, ticket_id)
    after = request.GET.get("after", "")
    if after:
        if not after.isdigit():
            raise Http404("No such event")
        rows = timeline_events_visible_to(
            request.user,
            TimelineEvent.objects.filter(
                customer_id=ticket.customer_id, pk__gt=int(after)
            ),
        ).order_by("-occurred_at", "-id")
        events, next_cursor = list(with_details(rows)[:NEWER_SHOWN]), None
    else:
        try:
            page = customer_timeline(
                viewer=request.user,
                customer_id=ticket.customer_id,
                cursor=request.GET.get("cursor"),
            )
        except (Customer.DoesNotExist, InvalidCursorError):
            raise Http404("No such page of the timeline") from None
        events, next_cursor = page.events, page.next_cursor
    return render(
        request,
        "tickets/partials/timeline_events.html",
        {"ticket": ticket, "events": events, "next_cursor": next_cursor},
    )


@login_required
@require_GET
def header(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The header alone, for when someone else changed the ticket."""
    ticket = ticket_or_404(request, ticket_id)
    return render(request, HEADER, header_context(ticket))
