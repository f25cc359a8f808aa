"""Message templates: what an agent can still send once a channel's reply window
has closed (WhatsApp's pre-approved templates)."""

import re
from collections.abc import Iterable, Sequence

from django.db import transaction

from supportdesk.channel_names import Channel
from tickets.actions.tickets import (
    TicketActionError,
    queue_outgoing,
    recipient_identity,
)
from tickets.models import Agent, Ticket, TimelineEvent

# Channels whose provider sends templates approved in advance.
TEMPLATE_CHANNELS = frozenset({Channel.WHATSAPP})
# WhatsApp's rules: lower-case letters, digits and underscores; a language code
# such as "en" or "en_US".
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
MAX_PARAMETERS = 50
MAX_PARAMETER_CHARS = 1024


def _check_template(
    template_name: str, language: str, parameters: Iterable[object]
) -> list[str]:
    if not _TEMPLATE_NAME.match(template_name):
        raise TicketActionError(
            f"{template_name[:80]!r} is not a template name (lower-case letters, "
            "digits and underscores)"
        )
    if not _LANGUAGE.match(language):
        raise TicketActionError(f"{language[:20]!r} is not a language code like en_US")
    values = [str(value).strip() for value in parameters]
    if len(values) > MAX_PARAMETERS:
        raise TicketActionError(f"a template takes at most {MAX_PARAMETERS} parameters")
    for value in values:
        if not value or len(value) > MAX_PARAMETER_CHARS:
            raise TicketActionError(
                f"each template parameter needs 1 to {MAX_PARAMETER_CHARS} characters"
            )
    return values


@transaction.atomic
def do_send_template(
    *,
    ticket: Ticket,
    author: Agent,
    template_name: str,
    language: str,
    parameters: Sequence[str] = (),
    channel: str = Channel.WHATSAPP,
) -> TimelineEvent:
    """Store a template message as queued; the send task hands it to the channel.

    Templates need no open reply window: they are how a business writes first.
    """
    if channel not in TEMPLATE_CHANNELS:
        raise TicketActionError(f"{channel} has no message templates")
    template_name, language = template_name.strip(), language.strip()
    values = _check_template(template_name, language, parameters)
    ticket = (
        Ticket.objects.select_for_update(of=("self",), no_key=True)
        .select_related("customer")
        .get(pk=ticket.pk)
    )
    identity = recipient_identity(ticket, channel)
    template = {"name": template_name, "language": language, "parameters": values}
    text = f"Template {template_name} ({language})"
    if values:
        text += ": " + " | ".join(values)
    return queue_outgoing(
        ticket=ticket,
        author=author,
        channel=channel,
        identity=identity,
        text=text,
        metadata={"template": template},
    )
