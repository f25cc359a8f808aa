"""Reads of customers alone.

Which customers an agent may see depends on their tickets, so that read, like the
timeline, lives in tickets.timeline.
"""

from customers.models import Customer, Identity


class IdentityNotFoundError(LookupError):
    pass


def customer_for_identity(*, kind: str, value: str) -> Customer:
    """The customer an already normalised identity belongs to."""
    identity = (
        Identity.objects.select_related("customer")
        .filter(kind=kind, value=value)
        .first()
    )
    if identity is None:
        raise IdentityNotFoundError(f"no customer has the identity {kind}:{value}")
    return identity.customer
