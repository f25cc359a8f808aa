"""What each action of the tickets API takes, and the queue's filters.

Each action has its own input serializer naming the fields it accepts; anything
else in a body is refused (supportdesk.api.inputs), so no body can set a ticket's
customer, owning team or an event's author.
"""

from django.conf import settings
from django.utils.choices import CallableChoiceIterator
from rest_framework import serializers

from supportdesk import registry
from supportdesk.api.inputs import MAX_ID, StrictInputSerializer
from supportdesk.channel_names import Channel
from tickets.actions.templates import TEMPLATE_CHANNELS
from tickets.models import Agent, Team, Ticket, TicketStatus
from tickets.views_ticket.forms import MAX_TEXT_CHARS, STATUS_CHOICES, reply_channels

SEARCH_MAX_CHARS = 200
# Read each time a serializer is built, so every registered channel is known.
TIMELINE_CHANNELS = CallableChoiceIterator(registry.timeline_channel_choices)


def _template_channel_choices() -> list[tuple[str, str]]:
    return [(c, registry.channel_label(c)) for c in sorted(TEMPLATE_CHANNELS)]


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
    channel = serializers.ChoiceField(choices=TIMELINE_CHANNELS, required=False)
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


class ReplyInputSerializer(StrictInputSerializer):
    """Needs the ticket in its context: the channel is checked against the ones
    the page would offer for this customer."""

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
        choices=TIMELINE_CHANNELS,
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

    def validate(self, attrs: dict) -> dict:
        ticket = self.context["ticket"]
        identity_kinds = {i.kind for i in ticket.customer.identities.all()}
        offered, default = reply_channels(ticket, identity_kinds)
        # As on the page: by default the channel the customer last wrote on.
        channel = attrs.get("channel") or default
        values = [c.value for c in offered]
        if channel not in values:
            if not values:
                problem = "No channel can reach this customer with a reply."
            else:
                problem = f"A reply cannot reach the customer on {channel}; "
                problem += f"offered: {', '.join(values)}."
            raise serializers.ValidationError({"channel": [problem]})
        return {**attrs, "channel": channel}


class TemplateInputSerializer(StrictInputSerializer):
    """A pre-approved template: it may go outside a channel's reply window."""

    channel = serializers.ChoiceField(
        choices=CallableChoiceIterator(_template_channel_choices),
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
