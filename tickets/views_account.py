"""Pages an agent reaches by a mailed link: accepting an invitation (setting a
first password) and resetting a forgotten one. Both use Django's auth views and
token machinery; both sign the agent in once the password is set."""

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import path, reverse_lazy

from tickets.actions.agents import InvitationError, do_accept_invitation
from tickets.invitations import invitation_tokens
from tickets.models import Invitation

# Any other backend (a lockout's, say) only refuses sign-ins; this one signs in.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class AcceptInvitationView(auth_views.PasswordResetConfirmView):
    """The invitation's link: the agent sets its own password and is signed in."""

    template_name = "registration/invitation_accept.html"
    token_generator = invitation_tokens
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        try:
            with transaction.atomic():
                agent = do_accept_invitation(
                    invitation=Invitation.objects.get(agent=self.user),
                    password=form.cleaned_data["new_password1"],
                )
        except (InvitationError, Invitation.DoesNotExist):
            self.validlink = False
            return self.render_to_response(self.get_context_data(form=None))
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        login(self.request, agent, backend=MODEL_BACKEND)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetView(auth_views.PasswordResetView):
    """Mails a reset link to an active agent with that address; the page says the
    same whether or not one exists."""

    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        # Links point at the address customers and agents reach the desk by,
        # not at whatever Host header this request came with.
        self.extra_email_context = {
            "base_url": settings.PUBLIC_BASE_URL.rstrip("/"),
            "max_age_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
        }
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    post_reset_login = True
    post_reset_login_backend = MODEL_BACKEND
    success_url = reverse_lazy("home")


urlpatterns = [
    path(
        "invitation/<uidb64>/<token>/",
        AcceptInvitationView.as_view(),
        name="invitation-accept",
    ),
    path("password-reset/", PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
]
