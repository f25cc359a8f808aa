"""What the customer, merge and merge suggestion endpoints read and write.

Output serializers are read-only; input serializers name each field an action
takes and refuse any other key.
"""

from rest_framework import serializers

from customers.models import Customer, CustomerMerge, MergeSuggestion
from supportdesk.api.inputs import MAX_ID, StrictInputSerializer

# Shapes shared with the ticket endpoints, so a client reads each one way.
from tickets.api.serializers import (
    AgentRefSerializer,
    CustomerRefSerializer,
    IdentitySerializer,
    TeamRefSerializer,
)
from tickets.models import Ticket

# ------------------------------------------------------------------------ output


class CustomerSerializer(serializers.ModelSerializer):
    identities = IdentitySerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "display_name",
            "language",
            "segment",
            "tags",
            "created_at",
            "identities",
        ]
        read_only_fields = fields


class CustomerTicketSerializer(serializers.ModelSerializer):
    """A ticket of the customer, as the ticket page's list of earlier issues."""

    team = TeamRefSerializer(read_only=True, allow_null=True)
    assignee = AgentRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "subject",
            "status",
            "priority",
            "channel",
            "team",
            "assignee",
            "created_at",
            "resolved_at",
            "resolution_note",
        ]
        read_only_fields = fields


class CustomerTicketsSerializer(serializers.Serializer):
    results = CustomerTicketSerializer(many=True)
    more = serializers.BooleanField(
        help_text="Older tickets were left out: raise `limit` to see more."
    )


class MergeSuggestionSerializer(serializers.ModelSerializer):
    customer = CustomerRefSerializer(read_only=True)
    other = CustomerRefSerializer(
        read_only=True, help_text="Merged into `customer` when accepted."
    )

    class Meta:
        model = MergeSuggestion
        fields = [
            "id",
            "customer",
            "other",
            "reason",
            "status",
            "decided_by",
            "decided_at",
            "created_at",
        ]
        read_only_fields = fields


class CustomerMergeSerializer(serializers.ModelSerializer):
    source = CustomerRefSerializer(read_only=True)
    target = CustomerRefSerializer(read_only=True)
    moved_identities = serializers.SerializerMethodField()
    moved_tickets = serializers.SerializerMethodField()
    moved_events = serializers.SerializerMethodField()

    class Meta:
        model = CustomerMerge
        fields = [
            "id",
            "source",
            "target",
            "actor",
            "reason",
            "moved_identities",
            "moved_tickets",
            "moved_events",
            "merged_at",
            "undone_at",
            "undone_by",
        ]
        read_only_fields = fields

    def get_moved_identities(self, merge: CustomerMerge) -> int:
        return len(merge.moved_identity_ids)

    def get_moved_tickets(self, merge: CustomerMerge) -> int:
        return len(merge.moved_ticket_ids)

    def get_moved_events(self, merge: CustomerMerge) -> int:
        return len(merge.moved_event_ids)


# ------------------------------------------------------------------------- input


class CustomerSearchInput(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Part of the name or of any identity's value.",
    )


class CustomerTicketsQueryInput(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=200, default=20
    )


class MergeInput(StrictInputSerializer):
    other_customer = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        help_text="Merged into the customer of the URL, which survives.",
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500, default=""
    )


class ErasureInput(StrictInputSerializer):
    reason = serializers.CharField(
        max_length=500, help_text="Why, for the audit: the request, its reference."
    )


class ErasureSerializer(serializers.Serializer):
    """The audit entry an erasure wrote: who, when, why and how much."""

    audit_entry = serializers.IntegerField(source="pk")
    customer = serializers.IntegerField()
    erased_at = serializers.DateTimeField(source="created_at")
    erased_by = serializers.CharField(source="actor_name")
    reason = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField())


class MergeSuggestionQueryInput(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=MergeSuggestion.Status.choices, required=False
    )
