"""Password hashing for the test process: PBKDF2 at a thousandth of its work.

At full strength a hash takes most of a second, and most tests create agents (or
seed the demo desk), so hashing alone would be a large part of the suite's time.
These hashes keep the algorithm's name and carry their iteration count, so the
desk servers and Celery workers a test starts, which hash at full strength, still
verify them; a server upgrades one to full strength when that agent signs in.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher, reset_hashers

FULL_STRENGTH = "django.contrib.auth.hashers.PBKDF2PasswordHasher"


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1_000


def hash_passwords_quickly() -> None:
    """Hash new passwords with the quick hasher in this process; every other hasher
    the settings name still verifies what it made."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = [
        f"{__name__}.{QuickPBKDF2PasswordHasher.__name__}",
        *(name for name in settings.PASSWORD_HASHERS if name != FULL_STRENGTH),
    ]
    reset_hashers(setting="PASSWORD_HASHERS")
