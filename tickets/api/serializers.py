"""What the tickets API answers: read-only serializers of tickets and timeline
events (shared with the customer endpoints), the timeline's paging, and the one
query that loads a ticket's detail. What actions take is in tickets.api.inputs."""

from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from customers.models import Identity
from tickets.models import (
    Agent,
    Attachment,
    Team,
    Ticket,
    TicketRating,
    TimelineEvent,
)


class TeamRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "slug"]
        read_only_fields = fields


class AgentRefSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = Agent
        fields = ["id", "username", "name"]
        read_only_fields = fields

    def get_name(self, agent: Agent) -> str:
        return agent.get_full_name() or agent.username


class IdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Identity
        fields = ["id", "kind", "value", "display_name", "verified"]
        read_only_fields = fields


class CustomerRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)


class CustomerSummarySerializer(CustomerRefSerializer):
    display_name = serializers.CharField(read_only=True)
    segment = serializers.CharField(read_only=True)
    language = serializers.CharField(read_only=True)
    identities = IdentitySerializer(many=True, read_only=True)


class RatingSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketRating
        fields = ["score", "comment", "channel", "created_at", "updated_at"]
        read_only_fields = fields


class TicketListItemSerializer(serializers.ModelSerializer):
    """A row of the queue: the ticket, its owner and its last message."""

    customer = CustomerRefSerializer(read_only=True)
    team = TeamRefSerializer(read_only=True, allow_null=True)
    assignee = AgentRefSerializer(read_only=True, allow_null=True)
    snippet = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The start of the ticket's last message, in or out.",
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "subject",
            "status",
            "priority",
            "channel",
            "customer",
            "team",
            "assignee",
            "snippet",
            "created_at",
            "updated_at",
            "last_message_at",
        ]
        read_only_fields = fields


class TicketSerializer(serializers.ModelSerializer):
    """A ticket as its page shows it; see tickets.api.tickets.detailed_ticket."""

    customer = CustomerSummarySerializer(read_only=True)
    team = TeamRefSerializer(read_only=True, allow_null=True)
    assignee = AgentRefSerializer(read_only=True, allow_null=True)
    rating = serializers.SerializerMethodField()
    latest_event_id = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The newest event on the customer's timeline. Send it as a "
        "reply's seen_event_id to be told (409) of messages that arrived since.",
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "subject",
            "status",
            "priority",
            "channel",
            "language",
            "customer",
            "team",
            "assignee",
            "resolution_note",
            "rating",
            "latest_event_id",
            "routed_at",
            "created_at",
            "updated_at",
            "last_message_at",
            "first_response_at",
            "resolved_at",
        ]
        read_only_fields = fields

    @extend_schema_field(RatingSerializer(allow_null=True))
    def get_rating(self, ticket: Ticket):
        try:
            rating = ticket.rating
        except TicketRating.DoesNotExist:
            return None
        return RatingSerializer(rating).data


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size", "sha256", "inline"]
        read_only_fields = fields


class TimelineEventSerializer(serializers.ModelSerializer):
    """One touchpoint on a customer's timeline: a message in or out, a note, a
    call, a status or route change, a merge, a rating."""

    ticket = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    customer = serializers.PrimaryKeyRelatedField(read_only=True)
    author = AgentRefSerializer(read_only=True, allow_null=True)
    direction = serializers.CharField(read_only=True, help_text="in, out, or internal.")
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = TimelineEvent
        fields = [
            "id",
            "ticket",
            "customer",
            "kind",
            "channel",
            "direction",
            "author",
            "sender_name",
            "subject",
            "text",
            "quoted_text",
            "html",
            "delivery_status",
            "delivery_error",
            "metadata",
            "attachments",
            "occurred_at",
            "created_at",
        ]
        read_only_fields = fields


# One page object, not a list of them, though answered by the list action.
@extend_schema_serializer(many=False)
class TicketPageSerializer(serializers.Serializer):
    results = TicketListItemSerializer(many=True)
    next = serializers.CharField(
        allow_null=True,
        help_text="Pass as ?cursor= (with the same filters) for the next page; "
        "null on the last page.",
    )


@extend_schema_serializer(many=False)
class TimelinePageSerializer(serializers.Serializer):
    results = TimelineEventSerializer(many=True)
    next = serializers.CharField(
        allow_null=True,
        help_text="Pass as ?cursor= for older events; null on the last page.",
    )


class StaleReplyErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="conflict")
    message = serializers.CharField()
    newer_events = TimelineEventSerializer(
        many=True, help_text="What arrived since seen_event_id, newest first."
    )
    latest_event_id = serializers.IntegerField(
        help_text="Send the reply again with this seen_event_id to send it as is."
    )


class StaleReplySerializer(serializers.Serializer):
    error = StaleReplyErrorSerializer()


# Shared with the customer timeline's endpoint: one shape of timeline page.
class TimelineQuerySerializer(serializers.Serializer):
    cursor = serializers.CharField(
        required=False, max_length=200, help_text="The `next` of the previous page."
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200)


def detailed_ticket(tickets, ticket_id: int) -> Ticket:
    """One ticket of `tickets` with everything TicketSerializer shows, in two
    queries; Ticket.DoesNotExist when it is not among them."""
    newest_event = (
        TimelineEvent.objects.filter(customer_id=OuterRef("customer_id"))
        .order_by("-id")
        .values("id")[:1]
    )
    return (
        tickets.select_related("customer", "team", "assignee", "rating")
        .prefetch_related("customer__identities")
        .annotate(latest_event_id=Subquery(newest_event))
        .get(pk=ticket_id)
    )
