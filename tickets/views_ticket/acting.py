"""The ticket page's actions: parse, check the ticket is the agent's, call one
action, answer with the partials it changed."""

from collections.abc import Callable

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from customers.identities import InvalidIdentityError
from tickets.actions.calls import CallLogError, do_log_call
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
from tickets.models import Ticket
from tickets.views_ticket.forms import (
    AssignForm,
    NoteForm,
    PriorityForm,
    ReplyForm,
    ResolveForm,
    StatusForm,
    TemplateForm,
    call_form,
    form_errors,
    sentence,
)
from tickets.views_ticket.page import (
    HEADER,
    answer,
    fresh_header_context,
    header_context,
    newer_messages,
    reply_context,
    ticket_or_404,
)

REPLY_BOX = "tickets/partials/reply_box.html"
NOTE_BOX = "tickets/partials/note_box.html"
RESOLVE_BOX = "tickets/partials/resolve_box.html"
CALL_BOX = "tickets/partials/call_box.html"
# A reply composed against an older ticket: shown the news, not sent.
STALE = 409
INVALID = 422

# What `_perform` answers when the form or the action said no.
REFUSED = object()


def _perform(form: forms.Form, act: Callable, *, refusals=(TicketActionError,)):
    """The action's result for a valid form; otherwise REFUSED, with the action's
    reason added to the form's errors."""
    if not form.is_valid():
        return REFUSED
    try:
        return act(form.cleaned_data)
    except refusals as exc:
        form.add_error(None, sentence(exc))
        return REFUSED


@login_required
@require_POST
def reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_or_404(request, ticket_id)
    posted = {
        "channel": request.POST.get("channel", ""),
        "text": request.POST.get("text", ""),
    }
    form = ReplyForm(request.POST, channels=reply_context(ticket)["channels"])
    if not form.is_valid():
        context = reply_context(ticket, **posted, errors=form_errors(form))
        return answer(request, ticket, REPLY_BOX, context, status=INVALID)
    seen = form.cleaned_data["seen_event_id"] or 0
    if newer := newer_messages(ticket, seen):
        # Show what came in; the second submit carries the newer seen id and sends.
        context = reply_context(
            ticket,
            **posted,
            stale_events=newer,
            seen_event_id=max(seen, *(e.pk for e in newer)),
        )
        return answer(request, ticket, REPLY_BOX, context, status=STALE)
    try:
        event = do_reply(
            ticket=ticket,
            author=request.user,
            text=form.cleaned_data["text"],
            channel=form.cleaned_data["channel"],
        )
    except TicketActionError as exc:
        context = reply_context(ticket, **posted, errors=[sentence(exc)])
        selected = context["selected_channel"]
        context["offer_template"] = bool(
            selected and selected.takes_templates and not selected.window_open
        )
        return answer(request, ticket, REPLY_BOX, context, status=INVALID)
    context = reply_context(
        ticket,
        channel=event.channel,
        seen_event_id=event.pk,
        notice=f"Reply queued on {event.get_channel_display()}.",
    )
    return answer(
        request, ticket, REPLY_BOX, context, header=True, timeline_changed=True
    )


@login_required
@require_POST
def send_template(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Outside a channel's reply window a pre-approved template can still go."""
    ticket = ticket_or_404(request, ticket_id)
    form = TemplateForm(request.POST)
    event = _perform(
        form,
        lambda data: do_send_template(
            ticket=ticket,
            author=request.user,
            template_name=data["template_name"],
            language=data["language"],
            parameters=data["parameters"],
            channel=data["channel"],
        ),
    )
    if event is REFUSED:
        context = reply_context(
            ticket,
            channel=request.POST.get("channel", ""),
            offer_template=True,
            template=request.POST,
            template_errors=form_errors(form),
        )
        return answer(request, ticket, REPLY_BOX, context, status=INVALID)
    context = reply_context(
        ticket,
        channel=event.channel,
        seen_event_id=event.pk,
        notice=f"Template {form.cleaned_data['template_name']} queued.",
    )
    return answer(
        request, ticket, REPLY_BOX, context, header=True, timeline_changed=True
    )


@login_required
@require_POST
def add_note(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_or_404(request, ticket_id)
    form = NoteForm(request.POST)
    done = _perform(
        form,
        lambda data: do_add_note(ticket=ticket, author=request.user, text=data["text"]),
    )
    if done is REFUSED:
        context = {
            "ticket": ticket,
            "text": request.POST.get("text", ""),
            "errors": form_errors(form),
        }
        return answer(request, ticket, NOTE_BOX, context, status=INVALID)
    context = {"ticket": ticket, "notice": "Note added."}
    return answer(request, ticket, NOTE_BOX, context, timeline_changed=True)


@login_required
@require_POST
def resolve(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_or_404(request, ticket_id)
    form = ResolveForm(request.POST)
    done = _perform(
        form,
        lambda data: do_resolve_ticket(
            ticket=ticket,
            actor=request.user,
            resolution_note=data["resolution_note"],
        ),
    )
    if done is REFUSED:
        context = {
            "ticket": ticket,
            "text": request.POST.get("resolution_note", ""),
            "errors": form_errors(form),
        }
        return answer(request, ticket, RESOLVE_BOX, context, status=INVALID)
    context = {"ticket": ticket, "notice": "Resolved."}
    return answer(
        request, ticket, RESOLVE_BOX, context, header=True, timeline_changed=True
    )


def _change(request, ticket: Ticket, form, act) -> HttpResponse:
    """The header's controls: status, priority, assignee; `act` calls one action."""
    if _perform(form, act) is REFUSED:
        context = header_context(ticket, errors=form_errors(form))
        return answer(request, ticket, HEADER, context, status=INVALID)
    context = fresh_header_context(ticket)
    return answer(request, ticket, HEADER, context, timeline_changed=True)


@login_required
@require_POST
def change_status(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_or_404(request, ticket_id)

    def act(data):
        do_change_status(ticket=ticket, status=data["status"], actor=request.user)

    return _change(request, ticket, StatusForm(request.POST), act)


@login_required
@require_POST
def change_priority(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_or_404(request, ticket_id)

    def act(data):
        do_change_priority(ticket=ticket, priority=data["priority"], actor=request.user)

    return _change(request, ticket, PriorityForm(request.POST), act)


@login_required
@require_POST
def assign(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_or_404(request, ticket_id)

    def act(data):
        wanted = str(request.user.pk) if data["assignee"] == "me" else data["assignee"]
        check_assign_ticket(
            ticket=ticket, assignee_id=wanted or None, actor=request.user
        )

    return _change(request, ticket, AssignForm(request.POST), act)


@login_required
@require_POST
def log_call(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_or_404(request, ticket_id)
    form = call_form(ticket, request.POST)
    event = _perform(
        form,
        lambda data: do_log_call(
            author=request.user,
            direction=data["direction"],
            number=data["number"],
            duration_seconds=data["duration"],
            outcome=data["outcome"],
            note=data["note"],
            ticket=ticket,
        ),
        refusals=(CallLogError, InvalidIdentityError),
    )
    if event is REFUSED:
        context = {"ticket": ticket, "call_form": form}
        return answer(request, ticket, CALL_BOX, context, status=INVALID)
    context = {
        "ticket": ticket,
        "call_form": call_form(ticket),
        "notice": f"Call logged: {event.text.splitlines()[0]}",
    }
    return answer(request, ticket, CALL_BOX, context, timeline_changed=True)
