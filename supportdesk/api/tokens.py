"""Issuing and revoking API tokens: the one door for both (the admin, the
create_api_token command and the benchmark all come through here)."""

import secrets

from django.db import transaction
from django.utils import timezone

from supportdesk.models import ApiToken


def do_issue_api_token(*, user, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """A new token and its key; only the key's hash is kept, so the key is
    shown once, by the caller."""
    unknown = set(scopes) - set(ApiToken.Scope.values)
    if unknown or not scopes:
        raise ValueError(f"scopes are some of {ApiToken.Scope.values}, not {scopes}")
    key = ApiToken.PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_hash=ApiToken.hash_key(key),
        key_start=key[:10],
        scopes=sorted(set(scopes)),
    )
    return token, key


@transaction.atomic
def do_revoke_api_tokens(*, tokens) -> int:
    """Revoke the tokens not revoked yet; how many were."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
