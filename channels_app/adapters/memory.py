"""Adapters that record what they send instead of sending it, like Django's locmem
mail backend: for tests and the demo data, which must reach no provider."""

import uuid
from functools import cache

from django.utils.module_loading import import_string

from channels_app.models import Inbox
from tickets.outbound import OutboundMessage

# Every message "sent" through a recording adapter, for tests to inspect.
outbox: list[OutboundMessage] = []


class RecordsSends:
    """Put before an adapter class: its sends land in `outbox`, nowhere else."""

    def send(self, message: OutboundMessage, *, inbox: Inbox | None = None) -> str:
        outbox.append(message)
        # Unique across processes: a counter restarting with each process would
        # repeat ids already stored under the (channel, external_id) constraint.
        return f"memory-{uuid.uuid4().hex}"


def recording(adapter: str | type) -> type:
    """The adapter class (or dotted path) with its sends recorded, its key and
    declarations kept: register it in place of the real one, e.g.
    CHANNEL_ADAPTERS["whatsapp"] = recording(CHANNEL_ADAPTERS["whatsapp"])."""
    cls = import_string(adapter) if isinstance(adapter, str) else adapter
    return cls if issubclass(cls, RecordsSends) else _recording(cls)


@cache
def _recording(cls: type) -> type:
    # One class for each adapter class, so the registry loads it once.
    return type(f"Recording{cls.__name__}", (RecordsSends, cls), {})
