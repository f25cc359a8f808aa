"""An agent's own account page: the second factor and the signed-in sessions."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from supportdesk.signin import twofactor
from supportdesk.signin.sessions import (
    HAS_DEVICE_KEY,
    active_sessions,
    end_other_sessions,
)

# Codes made in this session, shown on the next page once.
NEW_CODES_KEY = "signin_new_recovery_codes"


class ConfirmAppForm(forms.Form):
    code = forms.CharField(
        max_length=10,
        label="Code from the app",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}
        ),
    )


class PasswordForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "app_device": twofactor.app_device(user),
        "codes_left": twofactor.recovery_codes_left(user),
        "required": twofactor.is_required(user),
        "sessions": active_sessions(user),
        "password_form": PasswordForm(),
    }
    return render(request, "account/account.html", context)


@never_cache
@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    device = twofactor.pending_device(request.user)
    form = ConfirmAppForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = twofactor.confirm_app(request.user, device, form.cleaned_data["code"])
        if codes is not None:
            otp_login(request, device)
            request.session[HAS_DEVICE_KEY] = True
            request.session[NEW_CODES_KEY] = codes
            return redirect("two-factor-codes")
        form.add_error(
            "code",
            "That code did not work. Check the phone's clock and try the newest one.",
        )
    context = {
        "form": form,
        "secret": twofactor.secret_text(device),
        "required": twofactor.is_required(request.user),
    }
    status = 400 if form.errors else 200
    return render(request, "account/two_factor_setup.html", context, status=status)


@never_cache
@login_required
def two_factor_qr(request: HttpRequest) -> HttpResponse:
    """The set-up's QR code, drawn here: the secret never leaves for a service."""
    device = twofactor.pending_device(request.user)
    return HttpResponse(twofactor.qr_svg(device), content_type="image/svg+xml")


@never_cache
@login_required
def two_factor_codes(request: HttpRequest) -> HttpResponse:
    """The new recovery codes, once: the page after they are made shows them."""
    codes = request.session.pop(NEW_CODES_KEY, None)
    if not codes:
        return redirect("account")
    return render(request, "account/recovery_codes.html", {"codes": codes})


@login_required
@require_POST
def new_recovery_codes(request: HttpRequest) -> HttpResponse:
    if twofactor.app_device(request.user) is None:
        return redirect("account")
    request.session[NEW_CODES_KEY] = twofactor.new_recovery_codes(request.user)
    return redirect("two-factor-codes")


@login_required
@require_POST
def two_factor_remove(request: HttpRequest) -> HttpResponse:
    form = PasswordForm(request.POST)
    if twofactor.is_required(request.user):
        messages.error(request, "Your role must use two-factor authentication.")
    elif not form.is_valid() or not request.user.check_password(
        form.cleaned_data["password"]
    ):
        messages.error(request, "That password is not right; nothing changed.")
    else:
        twofactor.remove_devices(request.user)
        request.session[HAS_DEVICE_KEY] = False
        messages.success(request, "Two-factor authentication is off.")
    return redirect("account")


@login_required
@require_POST
def sign_out_others(request: HttpRequest) -> HttpResponse:
    count = end_other_sessions(request)
    messages.success(
        request,
        f"Signed out of {count} other session{'s' if count != 1 else ''}."
        if count
        else "No other session was signed in.",
    )
    return redirect("account")
