"""Fixtures the mail tests share."""

from tests.channels_app.email.sns_support import fake_sns  # noqa: F401
