import uuid

from channels_app.adapters.api import ApiAdapter
from tickets.outbound import OutboundMessage

# Every message "sent" through a memory adapter, for tests to inspect.
outbox: list[OutboundMessage] = []


class MemoryAdapter(ApiAdapter):
    """Parses normalised JSON and records sends instead of making them."""

    key = "memory"

    def send(self, message: OutboundMessage, *, inbox=None) -> str:
        outbox.append(message)
        # Unique across processes: a counter restarting with each process would
        # repeat ids already stored under the (channel, external_id) constraint.
        return f"memory-{uuid.uuid4().hex}"
