"""REST endpoints for customers, their timelines and merge suggestions.

Reads go through tickets.timeline, as the pages do: an agent sees the
customers of their teams' tickets, and any other customer is a 404. Merges,
their undoing and merge suggestions are the supervisors' customers page over
HTTP, through the same actions.
"""

from django.db.models import Exists, OuterRef, Q
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from customers.actions import MergeError, do_reject_merge_suggestion
from customers.models import Customer, CustomerMerge, Identity, MergeSuggestion
from supportdesk.api.errors import ActionConflict
from supportdesk.api.inputs import NoInput, error_responses, validated
from supportdesk.api.permissions import SUPERVISORS
from supportdesk.models import ApiToken
from tickets.actions.erasure import ErasureError, do_erase_customer
from tickets.actions.merges import (
    do_accept_merge_suggestion,
    do_merge_customers,
    do_unmerge_customers,
)
from tickets.api.customer_serializers import (
    CustomerMergeSerializer,
    CustomerSearchInput,
    CustomerSerializer,
    CustomerTicketsQueryInput,
    CustomerTicketsSerializer,
    ErasureInput,
    ErasureSerializer,
    MergeInput,
    MergeSuggestionQueryInput,
    MergeSuggestionSerializer,
)
from tickets.api.serializers import TimelinePageSerializer, TimelineQuerySerializer
from tickets.timeline import (
    InvalidCursorError,
    customer_for_agent,
    customer_tickets,
    customer_timeline,
    customers_visible_to,
)


def _matching(query: str) -> Q:
    """By name, or by any identity's value (as typed, or a phone without its +)."""
    by_identity = Identity.objects.filter(
        customer=OuterRef("pk"), value__icontains=query.lower().lstrip("+")
    )
    return Q(display_name__icontains=query) | Exists(by_identity)


@extend_schema_view(
    list=extend_schema(
        summary="Customers the user may see",
        description="Agents see the customers of their teams' tickets and of "
        "tickets assigned to them; supervisors see every customer. Customers "
        "merged into another are left out. Needs the read scope.",
        parameters=[CustomerSearchInput],
        responses={200: CustomerSerializer(many=True), **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="A customer with their identities",
        responses={200: CustomerSerializer, **error_responses(404)},
    ),
)
class CustomerViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CustomerSerializer
    lookup_value_regex = r"\d+"
    # Set per action: erasing needs a token's admin scope.
    required_scope: str | None = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # The schema is drawn without a real request.
            return Customer.objects.none()
        customers = customers_visible_to(self.request.user)
        if self.action == "list":
            params = validated(CustomerSearchInput, self.request.query_params)
            query = params.get("q", "").strip()
            if query:
                customers = customers.filter(_matching(query))
        return customers.prefetch_related("identities")

    @extend_schema(
        summary="The customer's timeline, newest first",
        description="Every touchpoint on every channel and ticket, one page at a "
        "time. Pass `next` as ?cursor= for older events; an event added "
        "meanwhile neither repeats nor shifts the pages.",
        parameters=[TimelineQuerySerializer],
        responses={200: TimelinePageSerializer, **error_responses(400, 404)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, pk=None):
        params = validated(TimelineQuerySerializer, request.query_params)
        try:
            page = customer_timeline(
                viewer=request.user,
                customer_id=int(pk),
                cursor=params.get("cursor"),
                limit=params.get("limit"),
            )
        except InvalidCursorError:
            raise NotFound("Invalid cursor.") from None
        return Response(
            TimelinePageSerializer(
                {"next": page.next_cursor, "results": page.events}
            ).data
        )

    @extend_schema(
        summary="The customer's tickets and how each was resolved",
        description="Open tickets first, then the most recent others, with their "
        "resolution notes: the earlier issues the ticket page shows, whichever "
        "team owns them.",
        parameters=[CustomerTicketsQueryInput],
        responses={200: CustomerTicketsSerializer, **error_responses(400, 404)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def tickets(self, request, pk=None):
        params = validated(CustomerTicketsQueryInput, request.query_params)
        customer = customer_for_agent(request.user, int(pk))
        tickets, more = customer_tickets(customer=customer, limit=params["limit"])
        return Response(
            CustomerTicketsSerializer({"results": tickets, "more": more}).data
        )

    @extend_schema(
        summary="Merge another customer into this one",
        description="Every identity, ticket and event of `other_customer` moves to "
        "this customer, which survives; the merge is recorded and can be undone "
        "(customer-merges/{id}/undo/). Supervisors only; needs the write scope.",
        request=MergeInput,
        responses={201: CustomerMergeSerializer, **error_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=SUPERVISORS)
    def merge(self, request, pk=None):
        target = self.get_object()
        data = validated(MergeInput, request.data)
        if data["other_customer"] == target.pk:
            raise ValidationError(
                {"other_customer": ["A customer cannot be merged into itself."]}
            )
        source = Customer.objects.filter(pk=data["other_customer"]).first()
        if source is None:
            raise ValidationError({"other_customer": ["No such customer."]})
        try:
            merge = do_merge_customers(
                source=source, target=target, actor=request.user, reason=data["reason"]
            )
        except MergeError as exc:
            raise ActionConflict(f"Not merged: {exc}.") from None
        return Response(
            CustomerMergeSerializer(_merge_row(merge.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Erase the customer for good",
        description="Identities, name and profile, the words and attachments of "
        "every event on their timeline and tickets, their raw inbound payloads, "
        "chat visitors and webhook deliveries go; tickets and events stay as "
        "counts with their channels, statuses and times, and the route ledger "
        "stays without personal data. Customers merged into this one are erased "
        "with it. Recorded in the audit with who and why; cannot be undone. "
        "409 for a customer merged into another (erase that one). Supervisors "
        "only; needs the admin scope.",
        request=ErasureInput,
        responses={200: ErasureSerializer, **error_responses(400, 404, 409)},
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=SUPERVISORS,
        required_scope=ApiToken.Scope.ADMIN,
    )
    def erase(self, request, pk=None):
        data = validated(ErasureInput, request.data)
        customer = Customer.objects.filter(pk=pk).first()
        if customer is None:
            raise NotFound("No such customer.")
        try:
            entry = do_erase_customer(
                customer=customer,
                actor=request.user,
                reason=data["reason"],
                via="api",
                address=request.META.get("REMOTE_ADDR"),
            )
        except ErasureError as exc:
            raise ActionConflict(f"Not erased: {exc}.") from None
        entry.customer = customer.pk
        entry.counts = {k: v for k, v in entry.details.items() if k != "via"}
        return Response(ErasureSerializer(entry).data)


def _merges():
    return CustomerMerge.objects.select_related("source", "target")


def _merge_row(merge_id: int) -> CustomerMerge:
    return _merges().get(pk=merge_id)


@extend_schema_view(
    list=extend_schema(
        summary="Customer merges, newest first",
        description="Supervisors only; needs the read scope.",
        responses={
            200: CustomerMergeSerializer(many=True),
            **error_responses(400, 404),
        },
    ),
    retrieve=extend_schema(
        summary="A customer merge",
        description="Supervisors only; needs the read scope.",
        responses={200: CustomerMergeSerializer, **error_responses(404)},
    ),
)
class CustomerMergeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CustomerMergeSerializer
    permission_classes = SUPERVISORS
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return _merges()

    @extend_schema(
        summary="Undo a merge",
        description="What the merge moved goes back to the merged customer; what "
        "arrived on the survivor's own tickets since stays. A merge whose survivor "
        "was merged again later is undone after that later one (409 until then). "
        "Supervisors only; needs the write scope.",
        request=NoInput,
        responses={200: CustomerMergeSerializer, **error_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        merge = self.get_object()
        validated(NoInput, request.data)
        try:
            do_unmerge_customers(merge=merge, actor=request.user)
        except MergeError as exc:
            raise ActionConflict(f"Not undone: {exc}.") from None
        return Response(CustomerMergeSerializer(_merge_row(merge.pk)).data)


@extend_schema_view(
    list=extend_schema(
        summary="Merge suggestions, newest first",
        description="Pairs of customers that one message tied together. "
        "Supervisors only; needs the read scope.",
        parameters=[MergeSuggestionQueryInput],
        responses={
            200: MergeSuggestionSerializer(many=True),
            **error_responses(400, 404),
        },
    ),
    retrieve=extend_schema(
        summary="A merge suggestion",
        description="Supervisors only; needs the read scope.",
        responses={200: MergeSuggestionSerializer, **error_responses(404)},
    ),
)
class MergeSuggestionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = MergeSuggestionSerializer
    permission_classes = SUPERVISORS
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        suggestions = MergeSuggestion.objects.select_related("customer", "other")
        if self.action == "list":
            wanted = validated(MergeSuggestionQueryInput, self.request.query_params)
            if "status" in wanted:
                suggestions = suggestions.filter(status=wanted["status"])
        return suggestions

    @extend_schema(
        summary="Accept: merge `other` into `customer`",
        description="Supervisors only; needs the write scope. 409 when the "
        "suggestion was already decided.",
        request=NoInput,
        responses={200: CustomerMergeSerializer, **error_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        suggestion = self.get_object()
        validated(NoInput, request.data)
        try:
            merge = do_accept_merge_suggestion(
                suggestion=suggestion, actor=request.user
            )
        except MergeError as exc:
            raise ActionConflict(f"Nothing changed: {exc}.") from None
        return Response(CustomerMergeSerializer(_merge_row(merge.pk)).data)

    @extend_schema(
        summary="Dismiss: they stay two customers",
        description="Supervisors only; needs the write scope. 409 when the "
        "suggestion was already decided.",
        request=NoInput,
        responses={200: MergeSuggestionSerializer, **error_responses(400, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        suggestion = self.get_object()
        validated(NoInput, request.data)
        try:
            do_reject_merge_suggestion(suggestion=suggestion, actor=request.user)
        except MergeError as exc:
            raise ActionConflict(f"Nothing changed: {exc}.") from None
        return Response(MergeSuggestionSerializer(self.get_object()).data)


# (url prefix, viewset, basename) for supportdesk/api/urls.py's router.
routes: list = [
    ("customers", CustomerViewSet, "customer"),
    ("customer-merges", CustomerMergeViewSet, "customer-merge"),
    ("merge-suggestions", MergeSuggestionViewSet, "merge-suggestion"),
]
