"""Bringing agents onto the desk: invitations by email, and the supervisors' group.

A supervisor or admin invites a person by name, email, role and team; the agent
exists from then on, inactive, until it sets its own password through the mail's
one-time link (tickets.invitations). The mail leaves after commit, from a task.
"""

from collections.abc import Sequence

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from supportdesk.errors import ActionError
from supportdesk.oncommit import enqueue_on_commit
from tickets.models import Agent, Invitation, Team, TeamMembership

SUPERVISORS_GROUP = "Supervisors"
# Beyond viewing every desk table, what a supervisor edits in the admin.
SUPERVISOR_EDITS = (
    "add_routingrule",
    "change_routingrule",
    "change_ticket",
    "change_team",
    "add_teammembership",
    "change_teammembership",
    "delete_teammembership",
    "change_customer",
)
SEND_INVITATION_TASK = "tickets.send_invitation"


# What an invitation sets on an agent of a revoked invitation, invited afresh.
INVITED_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "role",
    "is_staff",
    "is_superuser",
    "is_active",
)


class InvitationError(ActionError):
    pass


def ensure_supervisors_group() -> Group:
    """The group whose permissions let supervisors work in the Django admin."""
    group, _ = Group.objects.get_or_create(name=SUPERVISORS_GROUP)
    permissions = Permission.objects.filter(
        content_type__app_label__in=["customers", "tickets", "channels_app"]
    ).filter(Q(codename__startswith="view_") | Q(codename__in=SUPERVISOR_EDITS))
    group.permissions.add(*permissions)
    return group


def may_invite(actor: Agent, role: str) -> bool:
    """Supervisors invite agents and supervisors; only admins invite admins."""
    if not actor.is_active or not actor.is_supervisor:
        return False
    return role != Agent.Role.ADMIN or actor.role == Agent.Role.ADMIN


def _check_may_invite(actor: Agent, role: str) -> None:
    if role not in Agent.Role.values:
        raise InvitationError(f"Unknown role {role!r}.")
    if not may_invite(actor, role):
        raise InvitationError("Only an admin may invite an admin.")


def _clean_email(email: str) -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvitationError("Enter a valid email address.") from exc
    return email


def _reusable_agent(email: str) -> Agent | None:
    """The agent of a revoked invitation to this address, invited afresh; any other
    account with this address or username refuses the invitation."""
    existing = (
        Agent.objects.select_for_update()
        .filter(Q(email__iexact=email) | Q(username__iexact=email))
        .order_by("pk")
        .first()
    )
    if existing is None:
        return None
    invitation = Invitation.objects.filter(agent=existing).first()
    if invitation is not None and invitation.revoked_at and not existing.is_active:
        return existing
    if invitation is not None and invitation.is_pending:
        raise InvitationError(
            f"{email} is invited already: resend or revoke that invitation."
        )
    raise InvitationError(f"An agent with the address {email} exists already.")


@transaction.atomic
def do_invite_agent(
    *,
    email: str,
    first_name: str,
    last_name: str,
    role: str,
    teams: Sequence[Team],
    invited_by: Agent,
) -> Invitation:
    """Create the agent (inactive, no password) and mail it a one-time link.

    The agent signs in with its email address as username.
    """
    _check_may_invite(invited_by, role)
    email = _clean_email(email)
    existing = _reusable_agent(email)
    agent = existing or Agent(username=email)
    agent.email = email
    agent.first_name = first_name.strip()[:150]
    agent.last_name = last_name.strip()[:150]
    agent.role = role
    # Supervisors and admins work in the Django admin; agents never need it.
    agent.is_staff = role != Agent.Role.AGENT
    agent.is_superuser = role == Agent.Role.ADMIN
    agent.is_active = False
    agent.set_unusable_password()
    if existing is None:
        agent.save()
    else:
        agent.save(update_fields=[*INVITED_FIELDS, "password"])
    TeamMembership.objects.filter(agent=agent).exclude(team__in=teams).delete()
    for team in teams:
        TeamMembership.objects.get_or_create(agent=agent, team=team)
    if role == Agent.Role.SUPERVISOR:
        agent.groups.add(ensure_supervisors_group())
    else:
        agent.groups.remove(*Group.objects.filter(name=SUPERVISORS_GROUP))
    invitation, _ = Invitation.objects.update_or_create(
        agent=agent,
        defaults={
            "invited_by": invited_by,
            "sent_at": timezone.now(),
            "accepted_at": None,
            "revoked_at": None,
        },
    )
    enqueue_on_commit(SEND_INVITATION_TASK, invitation.pk)
    return invitation


def _locked_pending(invitation: Invitation) -> Invitation:
    locked = (
        Invitation.objects.select_for_update()
        .select_related("agent")
        .get(pk=invitation.pk)
    )
    if not locked.is_pending:
        state = "accepted" if locked.accepted_at else "revoked"
        raise InvitationError(f"This invitation was {state} already.")
    return locked


@transaction.atomic
def do_resend_invitation(*, invitation: Invitation, actor: Agent) -> Invitation:
    """Mail a new link; the links sent before stop working."""
    invitation = _locked_pending(invitation)
    _check_may_invite(actor, invitation.agent.role)
    invitation.sent_at = timezone.now()
    invitation.invited_by = actor
    invitation.save(update_fields=["sent_at", "invited_by"])
    enqueue_on_commit(SEND_INVITATION_TASK, invitation.pk)
    return invitation


@transaction.atomic
def do_revoke_invitation(*, invitation: Invitation, actor: Agent) -> Invitation:
    """Void the invitation's links; the agent stays inactive."""
    invitation = _locked_pending(invitation)
    _check_may_invite(actor, invitation.agent.role)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    return invitation


@transaction.atomic
def do_accept_invitation(*, invitation: Invitation, password: str) -> Agent:
    """Set the agent's own password and let it sign in; the link is spent."""
    invitation = _locked_pending(invitation)
    agent = invitation.agent
    agent.set_password(password)
    agent.is_active = True
    agent.save(update_fields=["password", "is_active"])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return agent
