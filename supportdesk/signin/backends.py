"""The lockout check in front of the password check."""

from axes.backends import AxesStandaloneBackend


class SignInThrottleBackend(AxesStandaloneBackend):
    """Refuses a sign-in from a locked account or address.

    authenticate() without a request comes from code, not from a visitor: Django's
    test client's login(), a shell. Every door from outside (the sign-in page, the
    admin's) passes its request, so those calls are counted and refused; a call
    without one has no address to count and is left to the password check.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
