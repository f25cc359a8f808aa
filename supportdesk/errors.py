"""The base of every error an action raises for a request it refuses.

Each app names its own (TicketActionError, InvalidIdentityError, ...); every door
turns any of them into the same answer, a form error or a 400, without knowing
the apps that raise them.
"""


class ActionError(ValueError):
    """A change refused for a reason the person asking can read and fix."""
