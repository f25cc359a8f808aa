"""/api/v1/tickets/: the queue, one ticket, its timeline, and every action the
ticket page offers.

Each endpoint reads through the page's selectors, so another team's ticket is a
404 on every one of them, reads and writes alike; each write parses its body with
its own input serializer and calls the action the page calls.
"""

from contextlib import contextmanager

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework import status as http_status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from customers.identities import InvalidIdentityError
from customers.models import Customer
from supportdesk.api.inputs import MAX_ID, error_responses, validated
from supportdesk.api.permissions import IsSupervisor
from tickets.actions.calls import CallLogError, do_log_call
from tickets.actions.handover import do_hand_over_ticket
from tickets.actions.routing import RoutingError
from tickets.actions.templates import do_send_template
from tickets.actions.tickets import (
    TicketActionError,
    check_assign_ticket,
    do_add_note,
    do_change_priority,
    do_change_status,
    do_reply,
    do_resolve_ticket,
)
from tickets.api import inputs
from tickets.api import serializers as outputs
from tickets.api.serializers import detailed_ticket
from tickets.models import Ticket, TimelineEvent
from tickets.selectors import (
    InvalidQueueCursorError,
    QueueFilters,
    ticket_for_agent,
    ticket_list_for_agent,
    tickets_visible_to,
)
from tickets.timeline import InvalidCursorError, customer_timeline
from tickets.views_calls import CallInputSerializer
from tickets.views_ticket.forms import sentence
from tickets.views_ticket.page import newer_messages

_ACTION_ERRORS = (TicketActionError, RoutingError, CallLogError, InvalidIdentityError)


@contextmanager
def refused_as_invalid():
    """An action's refusal is the client's to fix: a 400 with the action's words."""
    try:
        yield
    except _ACTION_ERRORS as exc:
        raise serializers.ValidationError(
            {"non_field_errors": [sentence(exc)]}
        ) from exc


def _query(request) -> dict:
    # A plain dict: an empty value is then checked like any other (in a form's
    # QueryDict "" counts as absent), as the schema says.
    return request.query_params.dict()


def _stale_reply(seen: int, newer: list[TimelineEvent]) -> Response:
    """The page's answer to a reply written against old news, as JSON: what
    arrived since, and the seen_event_id that sends the reply as it is."""
    return Response(
        {
            "error": {
                "code": "conflict",
                "message": "New messages arrived since this reply was written; "
                "read them, then send it again.",
                "newer_events": outputs.TimelineEventSerializer(newer, many=True).data,
                "latest_event_id": max(seen, *(e.pk for e in newer)),
            }
        },
        status=http_status.HTTP_409_CONFLICT,
    )


_TICKET_ERRORS = error_responses(400, 404)


class TicketViewSet(viewsets.GenericViewSet):
    """Tickets the user may see: their teams' and those assigned to them
    (supervisors see every team's)."""

    queryset = Ticket.objects.none()  # names the model for the schema
    serializer_class = outputs.TicketSerializer
    pagination_class = None  # the queue has its own keyset cursor
    # Any segment reaches the view, so a malformed id is this API's JSON 404
    # rather than the site's HTML one.
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return tickets_visible_to(self.request.user)

    def _ticket_id(self) -> int:
        pk = self.kwargs["pk"]
        if not (pk.isascii() and pk.isdigit()) or int(pk) > MAX_ID:
            raise NotFound("No such ticket.")
        return int(pk)

    def get_object(self) -> Ticket:
        # Ticket.DoesNotExist (not visible, or no such ticket) answers 404.
        return ticket_for_agent(self.request.user, self._ticket_id())

    def _ticket_answer(self, ticket: Ticket) -> Response:
        # Read again after the action: it may have changed any field.
        fresh = detailed_ticket(Ticket.objects.all(), ticket.pk)
        return Response(outputs.TicketSerializer(fresh).data)

    def _event_answer(self, event: TimelineEvent) -> Response:
        return Response(
            outputs.TimelineEventSerializer(event).data,
            status=http_status.HTTP_201_CREATED,
        )

    # ------------------------------------------------------------------ reads

    @extend_schema(
        summary="The queue",
        description="The user's tickets, newest first, filtered like the queue "
        "page. Pages follow a keyset cursor: pass `next` as `cursor`.",
        parameters=[inputs.TicketListQuerySerializer],
        responses={200: outputs.TicketPageSerializer, **error_responses(400, 404)},
    )
    def list(self, request):
        query = validated(inputs.TicketListQuerySerializer, _query(request))
        filters = QueueFilters(
            status=query.get("status", ""),
            channel=query.get("channel", ""),
            priority=query.get("priority", ""),
            team=query.get("team"),
            assignee=query.get("assignee", ""),
            search=query.get("q", ""),
        )
        try:
            page = ticket_list_for_agent(
                agent=request.user,
                filters=filters,
                cursor=query.get("cursor"),
                limit=query["limit"],
            )
        except InvalidQueueCursorError:
            raise NotFound("No such page of the queue.") from None
        return Response(
            {
                "results": outputs.TicketListItemSerializer(
                    page.tickets, many=True
                ).data,
                "next": page.next_cursor,
            }
        )

    @extend_schema(
        summary="One ticket",
        responses={200: outputs.TicketSerializer, **error_responses(404)},
    )
    def retrieve(self, request, pk=None):
        ticket = detailed_ticket(tickets_visible_to(request.user), self._ticket_id())
        return Response(outputs.TicketSerializer(ticket).data)

    @extend_schema(
        summary="The timeline beside the ticket",
        description="The customer's whole timeline across channels and tickets, "
        "newest first, as the ticket page shows it; each event names its ticket.",
        parameters=[outputs.TimelineQuerySerializer],
        responses={200: outputs.TimelinePageSerializer, **error_responses(400, 404)},
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        ticket = self.get_object()
        query = validated(outputs.TimelineQuerySerializer, _query(request))
        try:
            page = customer_timeline(
                viewer=request.user,
                customer_id=ticket.customer_id,
                cursor=query.get("cursor"),
                limit=query.get("limit"),
            )
        except (Customer.DoesNotExist, InvalidCursorError):
            raise NotFound("No such page of the timeline.") from None
        return Response(
            {
                "results": outputs.TimelineEventSerializer(page.events, many=True).data,
                "next": page.next_cursor,
            }
        )

    # ----------------------------------------------------------- conversation

    @extend_schema(
        summary="Reply to the customer",
        description="Queues the reply on a channel the customer can be reached "
        "on; it is sent after the answer. With seen_event_id, a reply written "
        "before newer messages arrived is not sent: 409 lists them.",
        request=inputs.ReplyInputSerializer,
        responses={
            201: outputs.TimelineEventSerializer,
            409: OpenApiResponse(
                outputs.StaleReplySerializer,
                description="Messages arrived since seen_event_id; nothing sent.",
            ),
            **_TICKET_ERRORS,
        },
    )
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        ticket = self.get_object()
        data = validated(
            inputs.ReplyInputSerializer, request.data, context={"ticket": ticket}
        )
        seen = data.get("seen_event_id")
        if seen is not None and (newer := newer_messages(ticket, seen)):
            return _stale_reply(seen, newer)
        with refused_as_invalid():
            event = do_reply(
                ticket=ticket,
                author=request.user,
                text=data["text"],
                html=data["html"],
                channel=data["channel"],
            )
        return self._event_answer(event)

    @extend_schema(
        summary="Send a pre-approved template",
        description="How a business writes on WhatsApp outside the 24-hour reply "
        "window.",
        request=inputs.TemplateInputSerializer,
        responses={201: outputs.TimelineEventSerializer, **_TICKET_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def template(self, request, pk=None):
        ticket = self.get_object()
        data = validated(inputs.TemplateInputSerializer, request.data)
        with refused_as_invalid():
            event = do_send_template(
                ticket=ticket,
                author=request.user,
                template_name=data["template_name"],
                language=data["language"],
                parameters=data["parameters"],
                channel=data["channel"],
            )
        return self._event_answer(event)

    @extend_schema(
        summary="Add an internal note",
        description="On the timeline for agents; never sent to the customer.",
        request=inputs.NoteInputSerializer,
        responses={201: outputs.TimelineEventSerializer, **_TICKET_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        ticket = self.get_object()
        data = validated(inputs.NoteInputSerializer, request.data)
        with refused_as_invalid():
            event = do_add_note(ticket=ticket, author=request.user, text=data["text"])
        return self._event_answer(event)

    @extend_schema(
        summary="Log a phone call",
        description="The number joins the ticket's customer when it is new to the "
        "desk.",
        request=CallInputSerializer,
        responses={201: outputs.TimelineEventSerializer, **_TICKET_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def calls(self, request, pk=None):
        ticket = self.get_object()
        data = validated(CallInputSerializer, request.data)
        with refused_as_invalid():
            event = do_log_call(
                author=request.user,
                direction=data["direction"],
                number=data["number"],
                duration_seconds=data["duration_seconds"],
                outcome=data["outcome"],
                note=data["note"],
                ticket=ticket,
            )
        return self._event_answer(event)

    # ---------------------------------------------------------------- changes

    @extend_schema(
        summary="Change the status",
        request=inputs.StatusInputSerializer,
        responses={200: outputs.TicketSerializer, **_TICKET_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        ticket = self.get_object()
        data = validated(inputs.StatusInputSerializer, request.data)
        with refused_as_invalid():
            do_change_status(ticket=ticket, status=data["status"], actor=request.user)
        return self._ticket_answer(ticket)

    @extend_schema(
        summary="Change the priority",
        request=inputs.PriorityInputSerializer,
        responses={200: outputs.TicketSerializer, **_TICKET_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def priority(self, request, pk=None):
        ticket = self.get_object()
        data = validated(inputs.PriorityInputSerializer, request.data)
        with refused_as_invalid():
            do_change_priority(
                ticket=ticket, priority=data["priority"], actor=request.user
            )
        return self._ticket_answer(ticket)

    @extend_schema(
        summary="Assign to an agent of the owning team, or unassign",
        description="Giving the ticket to an agent of another team moves it "
        "first: that is a supervisor's reassign.",
        request=inputs.AssignInputSerializer,
        responses={200: outputs.TicketSerializer, **_TICKET_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        ticket = self.get_object()
        wanted = validated(inputs.AssignInputSerializer, request.data)["assignee"]
        with refused_as_invalid():
            check_assign_ticket(ticket=ticket, assignee_id=wanted, actor=request.user)
        return self._ticket_answer(ticket)

    @extend_schema(
        summary="Hand over to another team (supervisors)",
        description="Moves the ticket to the team, with a RouteChange recording "
        "the reason, and gives it to one of that team's agents when named. An "
        "assignee outside the new team loses the ticket.",
        request=inputs.ReassignInputSerializer,
        responses={200: outputs.TicketSerializer, **_TICKET_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        # The ticket first: another team's ticket is a 404 to anyone, as
        # everywhere; then the role, as on the supervisors' pages.
        ticket = self.get_object()
        if not IsSupervisor().has_permission(request, self):
            self.permission_denied(request, message=IsSupervisor.message)
        data = validated(inputs.ReassignInputSerializer, request.data)
        with refused_as_invalid():
            do_hand_over_ticket(
                ticket=ticket,
                team=data["team"],
                assignee=data["assignee"],
                actor=request.user,
                reason=data["reason"],
            )
        return self._ticket_answer(ticket)

    @extend_schema(
        summary="Resolve with a resolution note",
        request=inputs.ResolveInputSerializer,
        responses={200: outputs.TicketSerializer, **_TICKET_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        ticket = self.get_object()
        data = validated(inputs.ResolveInputSerializer, request.data)
        with refused_as_invalid():
            do_resolve_ticket(
                ticket=ticket,
                actor=request.user,
                resolution_note=data["resolution_note"],
            )
        return self._ticket_answer(ticket)
