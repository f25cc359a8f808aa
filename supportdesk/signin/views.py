"""The sign-in pages: the password, then the code for an agent with a second
factor, and the page a locked account or address gets."""

import math

from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django_otp import login as otp_login

from supportdesk.signin import twofactor
from supportdesk.signin.middleware import IDLE_SIGNED_OUT_KEY
from supportdesk.signin.sessions import HAS_DEVICE_KEY, client_address

LOCKED_STATUS = 429


class SignInView(auth_views.LoginView):
    """The password; an agent with a second factor goes on to the code."""

    template_name = "registration/login.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        session = self.request.session
        context["idle_signed_out"] = session.pop(IDLE_SIGNED_OUT_KEY, False)
        context["idle_minutes"] = settings.SESSION_IDLE_TIMEOUT_SECONDS // 60
        return context

    def form_valid(self, form):
        user = form.get_user()
        if twofactor.has_device(user):
            twofactor.hold_for_code(self.request, user, self.get_success_url())
            return redirect("login-code")
        return super().form_valid(form)


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        label="Code",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


def sign_in_code(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app or a recovery code."""
    held = twofactor.pending(request)
    if held is None:
        request.session.pop(twofactor.PENDING_KEY, None)
        return redirect("login")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        user = get_user_model().objects.filter(pk=held["user"], is_active=True).first()
        device = user and twofactor.verify(user, form.cleaned_data["code"])
        if device:
            del request.session[twofactor.PENDING_KEY]
            login(request, user, backend=held["backend"])
            otp_login(request, device)
            request.session[HAS_DEVICE_KEY] = True
            return redirect(held["next"])
        form.add_error("code", "That code did not work. Try the newest one.")
        status = 400
    return render(
        request, "registration/login_code.html", {"form": form}, status=status
    )


def minutes_left(username: str | None, address: str | None) -> int:
    """Minutes until the newest counted failure of the account or the address
    leaves the cool-off, and with it the lock (at the latest)."""
    latest = AccessAttempt.objects.filter(
        Q(username=username) | Q(ip_address=address)
    ).aggregate(latest=Max("attempt_time"))["latest"]
    if latest is None:
        return math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    ends = latest + settings.AXES_COOLOFF_TIME
    return max(1, math.ceil((ends - timezone.now()).total_seconds() / 60))


def locked_out(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """The sign-in page again, with the lockout message (AXES_LOCKOUT_CALLABLE)."""
    username = request.POST.get("username", "")
    minutes = minutes_left(username, client_address(request))
    form = AuthenticationForm(request, initial={"username": username})
    context = {
        "form": form,
        "locked_minutes": minutes,
        "next": request.POST.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=LOCKED_STATUS)
