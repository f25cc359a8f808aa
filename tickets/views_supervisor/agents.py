"""The desk's people: who can sign in, and invitations by email to new agents."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from supportdesk.permissions import supervisor_required
from supportdesk.signin.locks import locked_usernames
from tickets.actions.agents import (
    InvitationError,
    do_invite_agent,
    do_resend_invitation,
    do_revoke_invitation,
    may_invite,
)
from tickets.models import Agent, Invitation, Team


class InviteForm(forms.Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(help_text="The agent signs in with this address.")
    role = forms.ChoiceField()
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label="No team",
    )

    def __init__(self, *args, actor: Agent, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [
            (value, label)
            for value, label in Agent.Role.choices
            if may_invite(actor, value)
        ]


def _page(request: HttpRequest, form: InviteForm, *, status: int = 200):
    agents = Agent.objects.filter(is_active=True).prefetch_related("teams")
    invitations = Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("agent", "invited_by")
    context = {
        "form": form,
        "agents": agents.order_by("username"),
        "invitations": invitations,
        "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
        # Accounts locked by failed sign-ins, each with an unlock button.
        "locked": locked_usernames(),
    }
    return render(request, "supervisor/agents.html", context, status=status)


@supervisor_required
def agent_list(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, InviteForm(actor=request.user))
    form = InviteForm(request.POST, actor=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            invitation = do_invite_agent(
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                role=data["role"],
                teams=[data["team"]] if data["team"] else [],
                invited_by=request.user,
            )
        except InvitationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Invitation sent to {invitation.agent.email}.")
            return redirect("supervisor-agents")
    return _page(request, form, status=400)


@supervisor_required
@require_POST
def resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id)
    try:
        do_resend_invitation(invitation=invitation, actor=request.user)
    except InvitationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Invitation sent again to {invitation.agent.email}; "
            "the earlier link no longer works.",
        )
    return redirect("supervisor-agents")


@supervisor_required
@require_POST
def revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id)
    try:
        do_revoke_invitation(invitation=invitation, actor=request.user)
    except InvitationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Invitation of {invitation.agent.email} revoked.")
    return redirect("supervisor-agents")
