from channels_app.adapters.base import ChannelAdapter
from channels_app.models import Inbox
from supportdesk.json_input import MalformedJSONError, parse_json
from tickets.inbound import InboundError, InboundMessage


class ApiAdapter(ChannelAdapter):
    """Messages already in the normalised JSON form: imports, bots, the demo data.

    The payload is one message object or {"messages": [...]}.
    """

    key = "api"
    label = "Normalised JSON"
    # Each message names its own channel and identity kinds.
    serves_inboxes = False

    def parse(
        self, payload: bytes, *, inbox: Inbox | None = None
    ) -> list[InboundMessage]:
        try:
            document = parse_json(payload)
        except MalformedJSONError as exc:
            raise InboundError(f"payload is not JSON: {exc}") from None
        if isinstance(document, dict) and "messages" in document:
            items = document["messages"]
            if not isinstance(items, list):
                raise InboundError("'messages' must be a list")
        else:
            items = [document]
        return [InboundMessage.from_json(item) for item in items]
