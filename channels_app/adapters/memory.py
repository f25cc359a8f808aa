import itertools

from channels_app.adapters.base import OutboundMessage
from channels_app.adapters.api import ApiAdapter

# Every message "sent" through a memory adapter, for tests to inspect.
outbox: list[OutboundMessage] = []
_ids = itertools.count(1)


class MemoryAdapter(ApiAdapter):
    """Parses normalised JSON and records sends instead of making them."""

    key = "memory"

    def send(self, message: OutboundMessage) -> str:
        outbox.append(message)
        return f"memory-{next(_ids)}"


