"""Signing in as a browser does: the real form, the real code step."""

from django.test import Client

PASSWORD = "pass"


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra):
    """POSTs the sign-in form, from REMOTE_ADDR in extra if given."""
    return client.post("/login/", {"username": username, "password": password}, **extra)


def give_code(client: Client, code: str):
    return client.post("/login/code/", {"code": code})
