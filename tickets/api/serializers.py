"""What the tickets API answers (read-only) and what each of its actions takes.

Output serializers never write. Each action has its own input serializer naming
the fields that action accepts; anything else in a body is refused (see
supportdesk.api.inputs), so no body can set a ticket's customer, owning team or
an event's author.
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from channels_app.adapters.phone import DIRECTIONS, OUTCOMES
from customers.identities import InvalidIdentityError, normalise_phone
from customers.models import Identity
from supportdesk.api.inputs import StrictInputSerializer
from tickets.actions.calls import MAX_CALL_SECONDS, MAX_NOTE_CHARS
from tickets.actions.templates import TEMPLATE_CHANNELS
from tickets.models import (
    Agent,
    Attachment,
    Channel,
    Team,
    Ticket,
    TicketRating,
    TicketStatus,
    TimelineEvent,
)
from tickets.views_calls import INVALID_NUMBER, NUMBER_HELP
from tickets.views_ticket.forms import MAX_TEXT_CHARS, STATUS_CHOICES

SEARCH_MAX_CHARS = 200
# The largest id PostgreSQL's bigint holds: a bigger one names nothing.
MAX_ID = 2**63 - 1

# ---------------------------------------------------------------------- output


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


# ----------------------------------------------------------------------- input


class TicketListQuerySerializer(serializers.Serializer):
    """The queue's filters, as the queue page takes them."""

    status = serializers.ChoiceField(
        choices=["all", *TicketStatus.values],
        required=False,
        help_text="One status, or all; by default every open status "
        "(new, open, pending).",
    )
    team = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    assignee = serializers.RegexField(
        r"^(me|none|[0-9]{1,18})$",
        required=False,
        help_text='An agent\'s id, "me", or "none" for unassigned tickets.',
    )
    channel = serializers.ChoiceField(choices=Channel.values, required=False)
    priority = serializers.ChoiceField(choices=Ticket.Priority.values, required=False)
    q = serializers.CharField(
        required=False,
        max_length=SEARCH_MAX_CHARS,
        help_text="Words in the subject, the customer's name or any message.",
    )
    cursor = serializers.RegexField(
        r"^[0-9]{1,19}$",
        required=False,
        help_text="The `next` of the previous page.",
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=200, default=50
    )


class TimelineQuerySerializer(serializers.Serializer):
    cursor = serializers.CharField(
        required=False, max_length=200, help_text="The `next` of the previous page."
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200)


class ReplyInputSerializer(StrictInputSerializer):
    text = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_TEXT_CHARS, default=""
    )
    html = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Sanitised before it is stored; the text is derived from it "
        "when none is given.",
    )
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        required=False,
        help_text="By default the channel the customer last wrote on.",
    )
    seen_event_id = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_ID,
        help_text="The newest event the reply was written against (the ticket's "
        "latest_event_id). When messages arrived since, nothing is sent: 409.",
    )

    def validate_html(self, value: str) -> str:
        if len(value) > settings.MAX_MESSAGE_TEXT_CHARS:
            raise serializers.ValidationError(
                f"At most {settings.MAX_MESSAGE_TEXT_CHARS} characters."
            )
        return value


class TemplateInputSerializer(StrictInputSerializer):
    """A pre-approved template: it may go outside a channel's reply window."""

    channel = serializers.ChoiceField(
        choices=[(c.value, c.label) for c in Channel if c in TEMPLATE_CHANNELS],
        required=False,
        default=Channel.WHATSAPP,
    )
    template_name = serializers.CharField(max_length=512)
    language = serializers.CharField(max_length=20, help_text="e.g. en_US")
    parameters = serializers.ListField(
        child=serializers.CharField(max_length=MAX_TEXT_CHARS),
        required=False,
        default=list,
        max_length=100,
        help_text="The template's parameters, in order.",
    )


class NoteInputSerializer(StrictInputSerializer):
    text = serializers.CharField(max_length=MAX_TEXT_CHARS)


class CallInputSerializer(StrictInputSerializer):
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


class StatusInputSerializer(StrictInputSerializer):
    status = serializers.ChoiceField(
        # The model's choices, so the schema names one status enum; resolving
        # takes a note, and is refused here as on the page.
        choices=TicketStatus.choices,
        help_text="Resolving takes a note: POST .../resolve/.",
    )

    def validate_status(self, value: str) -> str:
        if value not in {choice for choice, _ in STATUS_CHOICES}:
            raise serializers.ValidationError(
                "A ticket is resolved with a resolution note, through .../resolve/."
            )
        return value


class PriorityInputSerializer(StrictInputSerializer):
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices)


class AssignInputSerializer(StrictInputSerializer):
    assignee = serializers.IntegerField(
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="An agent of the owning team, or null to unassign.",
    )


class ReassignInputSerializer(StrictInputSerializer):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_TEXT_CHARS,
        help_text="Why; required when the owning team changes.",
    )
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=Agent.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        default=None,
        help_text="An agent of that team to give the ticket to.",
    )


class ResolveInputSerializer(StrictInputSerializer):
    resolution_note = serializers.CharField(max_length=MAX_TEXT_CHARS)
