"""Message templates: what an agent can still send once a channel's reply window
has closed (WhatsApp's pre-approved templates)."""

import re
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from supportdesk.oncommit import enqueue_on_commit
from tickets.actions.tickets import (
    TicketActionError,
    recipient_identity,
    reply_inbox,
)
from tickets.actions.timeline import publish_event
from tickets.models import Channel, Ticket, TicketStatus, TimelineEvent

# Channels whose provider sends templates approved in advance.
TEMPLATE_CHANNELS = frozenset({Channel.WHATSAPP})
# WhatsApp's rules: lower-case letters, digits and underscores; a language code
# such as "en" or "en_US".
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
MAX_PARAMETERS = 50
MAX_PARAMETER_CHARS = 1024


def _check_template(template_name: str, language: str, parameters) -> list[str]:
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
    author,
    template_name: str,
    language: str,
    parameters: Sequence[str] = (),
    channel: str = Channel.WHATSAPP,
) -> TimelineEvent:
    """Store a template message as queued; the send task hands it to the channel.

    Templates need no open reply window: they are how a business writes first.
    """
    from tickets.tasks import send_outbound

    if channel not in TEMPLATE_CHANNELS:
        raise TicketActionError(f"{channel} has no message templates")
    template_name, language = template_name.strip(), language.strip()
    values = _check_template(template_name, language, parameters)
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=ticket.pk)
    )
    identity = recipient_identity(ticket, channel)
    template = {"name": template_name, "language": language, "parameters": values}
    text = f"Template {template_name} ({language})"
    if values:
        text += ": " + " | ".join(values)
    now = timezone.now()
    event = TimelineEvent.objects.create(
        customer=ticket.customer,
        ticket=ticket,
        channel=channel,
        inbox=reply_inbox(ticket, channel),
        kind=TimelineEvent.Kind.MESSAGE_OUT,
        author=author,
        sender_name=author.get_full_name() or author.username,
        subject=ticket.subject,
        text=text,
        delivery_status=TimelineEvent.Delivery.QUEUED,
        metadata={"recipient_identity_id": identity.pk, "template": template},
        occurred_at=now,
    )
    fields = ["last_message_at", "updated_at"]
    ticket.last_message_at = now
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        fields.append("first_response_at")
    if ticket.status == TicketStatus.NEW:
        ticket.status = TicketStatus.OPEN
        fields.append("status")
    ticket.save(update_fields=fields)
    publish_event(event)
    enqueue_on_commit(send_outbound, event.pk)
    return event
