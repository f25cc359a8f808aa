"""Writing the audit: one row per thing done, in the transaction that did it."""

from django.contrib.auth.base_user import AbstractBaseUser

from supportdesk.models import AuditEntry


def record_audit(
    *,
    action: str,
    actor: AbstractBaseUser | None = None,
    actor_name: str = "",
    target: str = "",
    reason: str = "",
    details: dict | None = None,
    address: str | None = None,
) -> AuditEntry:
    """Append an entry; nothing in the desk updates or deletes one."""
    return AuditEntry.objects.create(
        action=action,
        # By id: the user model is the desk's, in a layer above this one.
        actor_id=actor.pk if actor is not None else None,
        actor_name=actor.get_username() if actor is not None else actor_name,
        address=address or None,
        target=target,
        reason=reason,
        details=details or {},
    )
