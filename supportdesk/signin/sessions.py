"""An agent's signed-in sessions: the list, touching it, ending the others."""

import time
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django_otp import user_has_device

from supportdesk.models import SignInSession

# The session's last activity (epoch seconds), written at most once a minute.
SEEN_KEY = "signin_seen"
TOUCH_SECONDS = 60
# Whether the signed-in agent has a second factor, as last checked (at sign-in,
# once a minute, and when it changes in this session).
HAS_DEVICE_KEY = "signin_has_device"


def session_store(session_key: str):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def touch_session(request: HttpRequest, user=None) -> None:
    """Record this signed-in session as seen now, in the session and the list."""
    request.session[SEEN_KEY] = int(time.time())
    if request.session.session_key is None:
        request.session.save()
    SignInSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user_id": (user or request.user).pk,
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
            "ip_address": client_address(request),
            "last_seen_at": timezone.now(),
        },
    )


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    # Every way of signing in (the sign-in page, a reset link, the test client's
    # force_login) ends in login(): the new session joins the list at once, and
    # the second factor's gates know whether the agent has one.
    if request is not None and hasattr(request, "session"):
        note_session(request, user)


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs):
    # Signing out ends the session: its row leaves the list then, not only when
    # the account page next finds the session gone.
    if request is not None and hasattr(request, "session"):
        forget_session(request.session.session_key)


def note_session(request: HttpRequest, user) -> None:
    """Touches the session and notes whether its agent has a second factor."""
    touch_session(request, user)
    request.session[HAS_DEVICE_KEY] = user_has_device(user, confirmed=True)


def idle_for(request: HttpRequest) -> float | None:
    seen = request.session.get(SEEN_KEY)
    return None if seen is None else time.time() - seen


def active_sessions(user) -> list[SignInSession]:
    """The user's sessions that still sign them in, newest activity first; rows
    of sessions that ended (signed out, expired, idle) are dropped."""
    rows = list(SignInSession.objects.filter(user=user))
    timeout = settings.SESSION_IDLE_TIMEOUT_SECONDS
    # A row is touched at most once a minute, so allow that much on top.
    idle_since = timezone.now() - timedelta(seconds=timeout + TOUCH_SECONDS)
    alive, ended = [], []
    for row in rows:
        idle = timeout and row.last_seen_at < idle_since
        if idle or not session_store(row.session_key).exists(row.session_key):
            ended.append(row.pk)
        else:
            alive.append(row)
    if ended:
        SignInSession.objects.filter(pk__in=ended).delete()
    return alive


def end_other_sessions(request: HttpRequest) -> int:
    """Signs the user out of every session but this one; returns how many."""
    others = SignInSession.objects.filter(user=request.user).exclude(
        session_key=request.session.session_key
    )
    count = 0
    for row in others:
        session_store(row.session_key).delete(row.session_key)
        count += 1
    others.delete()
    return count


def forget_session(session_key: str | None) -> None:
    if session_key:
        SignInSession.objects.filter(session_key=session_key).delete()
