"""What makes a SECRET_KEY good enough to sign sessions and reply addresses.

Read by the settings (a production desk refuses to start on a weak key) and by the
deploy checks, before Django is set up: nothing here imports Django's settings.
"""

# The key a desk in DEBUG (embedded, development) mode runs on when none is set.
DEV_SECRET_KEY = "insecure-embedded-key-change-me-in-every-deployment"

# Keys printed in this repository: anyone can sign with them.
PUBLISHED_KEYS = frozenset({DEV_SECRET_KEY, "change-me"})

MIN_LENGTH = 50
MIN_UNIQUE_CHARACTERS = 5

HOW_TO_MAKE_ONE = (
    "Make one with: python -c 'import secrets; print(secrets.token_urlsafe(50))' "
    "and set it as SECRET_KEY in the environment (or .env)."
)


def secret_key_weakness(key: str) -> str:
    """Why the key is unfit for production; empty when it is fit."""
    if not key:
        return "SECRET_KEY is not set"
    if key in PUBLISHED_KEYS:
        return "SECRET_KEY is a key published with the desk's source"
    if key.startswith("django-insecure"):
        return "SECRET_KEY is one Django generated for development"
    if len(key) < MIN_LENGTH or len(set(key)) < MIN_UNIQUE_CHARACTERS:
        return (
            f"SECRET_KEY is too weak (at least {MIN_LENGTH} characters, "
            f"{MIN_UNIQUE_CHARACTERS} of them different)"
        )
    return ""
