"""What the ticket page's forms take, and the channels a reply can take."""

from dataclasses import dataclass

from django import forms
from django.utils import timezone

from supportdesk import registry
from tickets.actions.templates import TEMPLATE_CHANNELS
from tickets.models import Ticket, TicketStatus
from tickets.selectors import last_inbound_by_channel
from tickets.views_calls import LogCallForm

MAX_TEXT_CHARS = 50_000
# Statuses the status control offers; resolving takes a note, through its own form.
STATUS_CHOICES = [
    (value, label)
    for value, label in TicketStatus.choices
    if value != TicketStatus.RESOLVED
]


@dataclass(frozen=True)
class ReplyChannel:
    value: str
    label: str
    window_open: bool
    takes_templates: bool


def reply_channels(ticket: Ticket, identity_kinds: set[str]) -> tuple[list, str]:
    """The channels a reply can take to this customer, and the default one: the
    channel of their last inbound message (else the ticket's own)."""
    last_inbound = last_inbound_by_channel(customer_id=ticket.customer_id)
    now = timezone.now()
    offered = []
    for channel in registry.reply_channels():
        if not identity_kinds & set(registry.recipient_kinds(channel)):
            continue
        window, last = registry.reply_window(channel), last_inbound.get(channel)
        offered.append(
            ReplyChannel(
                value=channel,
                label=registry.channel_label(channel),
                window_open=window is None
                or (last is not None and now - last < window),
                takes_templates=channel in TEMPLATE_CHANNELS,
            )
        )
    values = [c.value for c in offered]
    heard_on = sorted(
        (at, channel) for channel, at in last_inbound.items() if channel in values
    )
    if heard_on:
        return offered, heard_on[-1][1]
    if ticket.channel in values:
        return offered, ticket.channel
    return offered, values[0] if values else ""


class ReplyForm(forms.Form):
    channel = forms.ChoiceField()
    text = forms.CharField(
        max_length=MAX_TEXT_CHARS, error_messages={"required": "Write a reply first."}
    )
    # The newest timeline event the agent had seen when composing.
    seen_event_id = forms.IntegerField(min_value=0, required=False)

    def __init__(self, *args, channels: list[ReplyChannel], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(c.value, c.label) for c in channels]


class TemplateForm(forms.Form):
    channel = forms.ChoiceField(choices=[(c, c) for c in sorted(TEMPLATE_CHANNELS)])
    template_name = forms.CharField(max_length=512)
    language = forms.CharField(max_length=20)
    # One parameter a line.
    parameters = forms.CharField(required=False, max_length=MAX_TEXT_CHARS)

    def clean_parameters(self) -> list[str]:
        lines = self.cleaned_data["parameters"].splitlines()
        return [line.strip() for line in lines if line.strip()]


class NoteForm(forms.Form):
    text = forms.CharField(
        max_length=MAX_TEXT_CHARS, error_messages={"required": "Write the note first."}
    )


class ResolveForm(forms.Form):
    resolution_note = forms.CharField(
        max_length=MAX_TEXT_CHARS,
        error_messages={
            "required": "A resolution note is required: say how it was fixed."
        },
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_CHOICES)


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Ticket.Priority.choices)


class AssignForm(forms.Form):
    # "" unassigns, "me" is the agent posting, otherwise a teammate's id.
    assignee = forms.CharField(required=False, max_length=20)


class TicketCallForm(LogCallForm):
    ticket = None  # the call goes on the page's own ticket


def call_form(ticket: Ticket, data=None) -> TicketCallForm:
    phones = [i for i in ticket.customer.identities.all() if i.kind == "phone"]
    initial = {
        "direction": "inbound",
        "outcome": "answered",
        "duration": "0",
        "number": phones[0].value if phones else "",
    }
    return TicketCallForm(data, initial=initial, auto_id="call-%s")


def form_errors(form: forms.Form, *extra: str) -> list[str]:
    return [str(e) for errors in form.errors.values() for e in errors] + [
        e for e in extra if e
    ]


def sentence(exc: Exception) -> str:
    """An action's error message, written for the agent."""
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
