"""What each webhook event says, built from the rows as the change left them.

Every payload is {"event", "occurred_at", "data": {...}}; the delivery adds its own
"id". docs/webhooks.md lists the fields of each event. Internal notes are no
webhook event (their timeline.event_created has no builder), so no payload
carries one.
"""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from customers.models import CustomerMerge
from supportdesk import events as realtime
from tickets.models import Attachment, RouteChange, Ticket, TimelineEvent


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _link(name: str, pk: int) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse(name, args=[pk])


def _team(team) -> dict | None:
    return {"id": team.pk, "name": team.name, "slug": team.slug} if team else None


def _agent(agent) -> dict | None:
    if agent is None:
        return None
    return {
        "id": agent.pk,
        "username": agent.username,
        "name": agent.get_full_name() or agent.username,
    }


def customer_summary(customer) -> dict:
    return {
        "id": customer.pk,
        "display_name": customer.display_name,
        "url": _link("customer-timeline", customer.pk),
    }


def ticket_summary(ticket: Ticket) -> dict:
    return {
        "id": ticket.pk,
        "url": _link("ticket", ticket.pk),
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "language": ticket.language,
        "customer": customer_summary(ticket.customer),
        "team": _team(ticket.team),
        "assignee": _agent(ticket.assignee),
        "resolution_note": ticket.resolution_note,
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "routed_at": _iso(ticket.routed_at),
        "resolved_at": _iso(ticket.resolved_at),
    }


def message_summary(event: TimelineEvent) -> dict:
    attachments = Attachment.objects.filter(event=event).values(
        "name", "content_type", "size"
    )
    return {
        "id": event.pk,
        "ticket_id": event.ticket_id,
        "customer_id": event.customer_id,
        "channel": event.channel,
        "direction": event.direction,
        "sender_name": event.sender_name,
        "author": _agent(event.author),
        "subject": event.subject,
        "text": event.text,
        "attachments": list(attachments.order_by("pk")),
        "occurred_at": _iso(event.occurred_at),
    }


def _ticket(ticket_id: int) -> Ticket:
    return Ticket.objects.select_related("customer", "team", "assignee").get(
        pk=ticket_id
    )


def _is_new_message(message: TimelineEvent) -> bool:
    """Whether a message.created realtime event announces the message itself.

    The same realtime event is published again as a reply's delivery state moves
    (sent, delivered, read, failed) and as a customer edits a message; receivers
    hear of each message once.
    """
    if message.kind == TimelineEvent.Kind.MESSAGE_OUT:
        return message.delivery_status == TimelineEvent.Delivery.QUEUED
    return not message.delivery_status and "revisions" not in message.metadata


def _envelope(name: str, occurred_at: str | None, data: dict) -> dict:
    return {
        "event": name,
        "occurred_at": occurred_at or timezone.now().isoformat(),
        "data": data,
    }


def _from_message(event: dict, wanted: set[str]) -> dict[str, dict]:
    message = TimelineEvent.objects.select_related("author").get(pk=event["event_id"])
    if not _is_new_message(message):
        # A reply's delivery state moving is published many times: nothing more
        # is read for it unless ticket.created is wanted too.
        wanted = wanted - {realtime.MESSAGE_CREATED}
    if not wanted:
        return {}
    ticket = _ticket(message.ticket_id) if message.ticket_id else None
    summary = message_summary(message)
    data = {"message": summary, "ticket": ticket and ticket_summary(ticket)}
    built = {}
    if realtime.TICKET_CREATED in wanted and ticket is not None:
        built[realtime.TICKET_CREATED] = _envelope(
            realtime.TICKET_CREATED, _iso(ticket.created_at), data
        )
    if realtime.MESSAGE_CREATED in wanted:
        built[realtime.MESSAGE_CREATED] = _envelope(
            realtime.MESSAGE_CREATED, summary["occurred_at"], data
        )
    return built


def _from_route(event: dict, wanted: set[str]) -> dict[str, dict]:
    change = RouteChange.objects.select_related("from_team", "to_team", "actor").get(
        pk=event["route_change_id"]
    )
    data = {
        "ticket": ticket_summary(_ticket(event["ticket_id"])),
        "route": {
            "id": change.pk,
            "from_team": _team(change.from_team),
            "to_team": _team(change.to_team),
            "rule_id": change.rule_id,
            "actor": _agent(change.actor),
            "reason": change.reason,
        },
    }
    return {name: _envelope(name, event.get("occurred_at"), data) for name in wanted}


def _from_ticket(event: dict, wanted: set[str]) -> dict[str, dict]:
    ticket = _ticket(event["ticket_id"])
    summary = ticket_summary(ticket)
    occurred_at = _iso(ticket.updated_at)
    built = {}
    for name in wanted:
        data = {"ticket": summary}
        if name == realtime.TICKET_CREATED:
            # A ticket opened by a logged call: no message opened it.
            data["message"] = None
        if name == realtime.TICKET_UPDATED:
            data["changes"] = {
                field: event[field]
                for field in ("status", "priority")
                if field in event
            }
        built[name] = _envelope(name, occurred_at, data)
    return built


def _from_merge(event: dict, wanted: set[str]) -> dict[str, dict]:
    merge = CustomerMerge.objects.select_related("target", "actor").get(
        pk=event["merge_id"]
    )
    data = {
        "merge": {
            "id": merge.pk,
            "source_customer_id": merge.source_id,
            "target_customer_id": merge.target_id,
            "reason": merge.reason,
            "actor": _agent(merge.actor),
            "moved_ticket_ids": merge.moved_ticket_ids,
            "moved_identities": len(merge.moved_identity_ids),
            "moved_events": len(merge.moved_event_ids),
        },
        "customer": customer_summary(merge.target),
    }
    return {name: _envelope(name, _iso(merge.merged_at), data) for name in wanted}


_BUILDERS = {
    realtime.MESSAGE_CREATED: _from_message,
    realtime.TICKET_CREATED: _from_ticket,
    realtime.TICKET_ROUTED: _from_route,
    realtime.TICKET_REASSIGNED: _from_route,
    realtime.TICKET_UPDATED: _from_ticket,
    realtime.CUSTOMER_MERGED: _from_merge,
}


def build(event: dict, wanted: set[str]) -> dict[str, dict]:
    """The payload of each wanted webhook event a realtime event stands for; an
    event that turns out not to apply (a message published again) is left out."""
    return _BUILDERS[event["type"]](event, wanted)
