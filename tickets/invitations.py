"""The one-time links of invitations, and the mail that carries one.

Links are made by Django's password-reset token machinery with a salt of their
own: a link names the agent and a timestamp, and is signed over the agent's
password, its active flag and its invitation's state, so it stops working once
the password is set, the invitation is resent or revoked, or it is older than
INVITATION_MAX_AGE_DAYS.
"""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode

from tickets.models import Agent, Invitation


def pending_invitation(agent: Agent | None) -> Invitation | None:
    if agent is None:
        return None
    invitation = Invitation.objects.filter(agent=agent).first()
    return invitation if invitation is not None and invitation.is_pending else None


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "tickets.invitations.InvitationTokenGenerator"

    def _make_hash_value(self, user, timestamp) -> str:
        invitation = Invitation.objects.filter(agent=user).first()
        state = (
            (invitation.pk, invitation.sent_at.isoformat(), invitation.is_pending)
            if invitation is not None
            else None
        )
        return f"{user.pk}{user.password}{user.is_active}{state}{timestamp}"

    def check_token(self, user, token) -> bool:
        """As Django's, with the invitation's own age limit in place of
        PASSWORD_RESET_TIMEOUT, and only for a pending invitation."""
        if not token or pending_invitation(user) is None:
            return False
        try:
            timestamp = base36_to_int(token.partition("-")[0])
        except ValueError:
            return False
        age = self._num_seconds(self._now()) - timestamp
        if age > settings.INVITATION_MAX_AGE_DAYS * 24 * 3600:
            return False
        return any(
            constant_time_compare(
                self._make_token_with_timestamp(user, timestamp, secret), token
            )
            for secret in [self.secret, *self.secret_fallbacks]
        )


invitation_tokens = InvitationTokenGenerator()


def invitation_link(agent: Agent) -> str:
    path = reverse(
        "invitation-accept",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(agent.pk)),
            "token": invitation_tokens.make_token(agent),
        },
    )
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def send_invitation_mail(invitation: Invitation) -> None:
    agent = invitation.agent
    context = {
        "agent": agent,
        "invited_by": invitation.invited_by,
        "teams": ", ".join(team.name for team in agent.teams.order_by("name")),
        "link": invitation_link(agent),
        "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
        "base_url": settings.PUBLIC_BASE_URL.rstrip("/"),
    }
    subject = render_to_string("registration/invitation_subject.txt", context)
    send_mail(
        " ".join(subject.split()),
        render_to_string("registration/invitation_email.txt", context),
        None,
        [agent.email],
    )
