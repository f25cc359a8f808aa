"""What every signed-in request passes: the idle timeout, the session list's
touch, and the second factor's two gates.

The work is done at most once a minute per session (the touch), except the
gates' reading of two session keys; requests in between cost nothing more.
"""

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse

from supportdesk.signin import twofactor
from supportdesk.signin.sessions import (
    HAS_DEVICE_KEY,
    TOUCH_SECONDS,
    idle_for,
    note_session,
)

IDLE_SIGNED_OUT_KEY = "signin_idle_signed_out"

# Paths an agent whose role requires a second factor may reach before setting
# one up: the set-up itself, signing out, and the sign-in pages.
_ENROL_PATHS = ("/account/two-factor/", "/logout/", "/login/")


class SignInMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            answer = self.check(request)
            if answer is not None:
                return answer
        return self.get_response(request)

    def check(self, request):
        timeout = settings.SESSION_IDLE_TIMEOUT_SECONDS
        idle = idle_for(request)
        if timeout and idle is not None and idle > timeout:
            logout(request)
            request.session[IDLE_SIGNED_OUT_KEY] = True
            return None
        if idle is None or idle >= TOUCH_SECONDS:
            note_session(request, request.user)
        has_device = request.session.get(HAS_DEVICE_KEY)
        if has_device and not twofactor.is_verified_session(request):
            # Signed in by a way that asked no code (a password reset's link,
            # say): the password is proven, the code is still owed.
            user = request.user
            user.backend = request.session[BACKEND_SESSION_KEY]
            next_url = request.get_full_path()
            logout(request)
            twofactor.hold_for_code(request, user, next_url)
            return HttpResponseRedirect(reverse("login-code"))
        if (
            not has_device
            and twofactor.is_required(request.user)
            and not request.path.startswith(_ENROL_PATHS)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "error": {
                            "code": "two_factor_required",
                            "message": "Set up two-factor authentication first.",
                        }
                    },
                    status=403,
                )
            return HttpResponseRedirect(reverse("two-factor-setup"))
        return None
