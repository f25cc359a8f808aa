"""Agents log phone calls: the form page and POST /api/v1/calls/.

Both parse input, check that the agent may see the linked ticket or customer, and
call tickets.actions.calls.do_log_call. Neither answer names the caller: a number
of another team's customer gets a ticket of the agent's own team, and the answer
tells that ticket only, as it does for any call.
"""

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.identities import InvalidIdentityError, normalise_phone
from customers.models import Customer
from supportdesk.api.inputs import StrictInputSerializer, error_responses
from tickets.actions.calls import (
    MAX_CALL_SECONDS,
    MAX_NOTE_CHARS,
    CallLogError,
    do_log_call,
)
from tickets.calls import DIRECTIONS, OUTCOMES
from tickets.models import Ticket, TimelineEvent
from tickets.selectors import ticket_for_agent
from tickets.timeline import customer_for_agent

NUMBER_HELP = "With its country code, e.g. +14155552671."
INVALID_NUMBER = "Enter a valid phone number with its country code, e.g. +14155552671."
DIRECTION_CHOICES = (
    ("inbound", "Inbound: the customer called"),
    ("outbound", "Outbound: the desk called"),
)
OUTCOME_CHOICES = tuple((outcome, outcome.capitalize()) for outcome in OUTCOMES)
_DURATION = re.compile(r"^(?:(?:(\d+):)?(\d{1,2}):)?(\d+)$")


def _number(value: str) -> str:
    try:
        return normalise_phone(value)
    except InvalidIdentityError:
        raise forms.ValidationError(INVALID_NUMBER) from None


def _linked(agent, *, ticket_id: int | None, customer_id: int | None):
    """The ticket and customer the call is logged on, if the agent may see them;
    Http404 otherwise."""
    ticket = customer = None
    try:
        if ticket_id is not None:
            ticket = ticket_for_agent(agent, ticket_id)
        if customer_id is not None:
            customer = customer_for_agent(agent, customer_id)
    except (Ticket.DoesNotExist, Customer.DoesNotExist):
        raise Http404("No such ticket or customer") from None
    if ticket and customer and ticket.customer_id != customer.pk:
        raise Http404("That ticket is not this customer's")
    return ticket, customer


def _log(agent, data: dict) -> TimelineEvent:
    ticket, customer = _linked(
        agent, ticket_id=data.get("ticket"), customer_id=data.get("customer")
    )
    return do_log_call(
        author=agent,
        direction=data["direction"],
        number=data["number"],
        duration_seconds=data["duration_seconds"],
        outcome=data["outcome"],
        note=data.get("note") or "",
        ticket=ticket,
        customer=customer,
    )


# ------------------------------------------------------------------------ page


class LogCallForm(forms.Form):
    ticket = forms.IntegerField(
        required=False,
        min_value=1,
        label="Ticket number",
        help_text="Leave empty to file the call on the caller's open phone ticket.",
    )
    direction = forms.ChoiceField(choices=DIRECTION_CHOICES, widget=forms.RadioSelect)
    number = forms.CharField(max_length=40, help_text=NUMBER_HELP)
    duration = forms.CharField(
        max_length=12, initial="0", help_text="Seconds, or m:ss, or h:mm:ss."
    )
    outcome = forms.ChoiceField(choices=OUTCOME_CHOICES)
    note = forms.CharField(
        required=False,
        max_length=MAX_NOTE_CHARS,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def clean_number(self) -> str:
        return _number(self.cleaned_data["number"])

    def clean_duration(self) -> int:
        match = _DURATION.match(self.cleaned_data["duration"].strip())
        if not match:
            raise forms.ValidationError("Write the duration as 192, 3:12 or 1:03:12.")
        hours, minutes, seconds = (int(part or 0) for part in match.groups())
        total = hours * 3600 + minutes * 60 + seconds
        if total > MAX_CALL_SECONDS:
            raise forms.ValidationError("A call lasts at most a day.")
        return total


def _initial(agent, ticket_id: str) -> dict:
    if not ticket_id.isdigit():
        return {}
    ticket, _ = _linked(agent, ticket_id=int(ticket_id), customer_id=None)
    phone = ticket.customer.identities.filter(kind="phone").order_by("pk").first()
    return {"ticket": ticket.pk, "number": phone.value if phone else ""}


@login_required
def log_call(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = LogCallForm(request.POST)
        if form.is_valid():
            data = {
                **form.cleaned_data,
                "duration_seconds": form.cleaned_data["duration"],
            }
            try:
                event = _log(request.user, data)
            except (CallLogError, InvalidIdentityError) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, f"Call logged on ticket #{event.ticket_id}: {event.text}"
                )
                if data.get("ticket"):
                    return redirect("customer-timeline", customer_id=event.customer_id)
                # Logged by number: the form again, for the next call, whoever
                # the number turned out to be.
                return redirect("log-call")
    else:
        form = LogCallForm(
            initial={"direction": "inbound", "outcome": "answered", "duration": "0"}
            | _initial(request.user, request.GET.get("ticket", ""))
        )
    return render(request, "tickets/log_call.html", {"form": form})


# ------------------------------------------------------------------------- API


class CallInputSerializer(StrictInputSerializer):
    """A call as an agent logs it: on a ticket's calls endpoint, and below."""

    direction = serializers.ChoiceField(choices=DIRECTIONS)
    number = serializers.CharField(max_length=40, help_text=NUMBER_HELP)
    duration_seconds = serializers.IntegerField(min_value=0, max_value=MAX_CALL_SECONDS)
    outcome = serializers.ChoiceField(choices=OUTCOMES)
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_NOTE_CHARS, default=""
    )

    def validate_number(self, value: str) -> str:
        try:
            return normalise_phone(value)
        except InvalidIdentityError:
            raise serializers.ValidationError(INVALID_NUMBER) from None


class CallLogSerializer(CallInputSerializer):
    ticket = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    customer = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class CallLogView(APIView):
    """POST a call an agent made or took; the answer is the call's timeline event."""

    @extend_schema(
        summary="Log a phone call by number",
        description="On the given ticket; otherwise on the open phone ticket of "
        "the given customer or of the number's customer that the agent may see, "
        "opened when there is none. For a number of a customer the agent may not "
        "see, the ticket opened is their own team's. The answer names the ticket, "
        "never the customer.",
        request=CallLogSerializer,
        responses={
            201: inline_serializer(
                "CallLogged",
                {
                    "event_id": serializers.IntegerField(),
                    "ticket_id": serializers.IntegerField(),
                    "number": serializers.CharField(),
                    "direction": serializers.ChoiceField(choices=DIRECTIONS),
                    "outcome": serializers.ChoiceField(choices=OUTCOMES),
                    "duration_seconds": serializers.IntegerField(),
                    "text": serializers.CharField(),
                    "occurred_at": serializers.DateTimeField(),
                },
            ),
            **error_responses(400, 404),
        },
    )
    def post(self, request):
        serializer = CallLogSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            # A ticket or customer the agent may not see raises Http404: a 404.
            event = _log(request.user, serializer.validated_data)
        except (CallLogError, InvalidIdentityError) as exc:
            raise serializers.ValidationError({"detail": str(exc)}) from None
        return Response(
            {
                "event_id": event.pk,
                # No customer: a call by number may be another team's customer's.
                "ticket_id": event.ticket_id,
                "number": event.metadata["number"],
                "direction": event.metadata["direction"],
                "outcome": event.metadata["outcome"],
                "duration_seconds": event.metadata["duration_seconds"],
                "text": event.text,
                "occurred_at": event.occurred_at.isoformat(),
            },
            status=status.HTTP_201_CREATED,
        )
