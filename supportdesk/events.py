"""Names of the events the desk publishes, live and to outbound webhooks, and the
groups the live ones go to.

Events are plain JSON dicts: {"type": <one of the names below>, ...ids and fields}.
Actions choose the groups; consumers only authenticate, join groups and relay.
"""

# A ticket opened without a message (a logged call); a message that opens a ticket
# says so itself: MESSAGE_CREATED with "new_ticket": true.
TICKET_CREATED = "ticket.created"
# Both carry the route_change entry of the timeline ("event_id", "text",
# "occurred_at"): no TIMELINE_EVENT_CREATED is published for it.
TICKET_ROUTED = "ticket.routed"
TICKET_REASSIGNED = "ticket.reassigned"
TICKET_UPDATED = "ticket.updated"
MESSAGE_CREATED = "message.created"
# Anything else appended to a timeline: notes, calls, status and route changes, merges.
TIMELINE_EVENT_CREATED = "timeline.event_created"
CUSTOMER_MERGED = "customer.merged"
CUSTOMER_UNMERGED = "customer.unmerged"
MERGE_SUGGESTED = "customer.merge_suggested"

# ------------------------------------------------------------ outbound webhooks
# The events an endpoint can subscribe to: the desk's public contract with
# receivers. A name, once published, keeps its meaning; docs/webhooks.md
# documents the payload of each. Those not above stand for a part of one above.
TICKET_ASSIGNED = "ticket.assigned"
TICKET_RESOLVED = "ticket.resolved"
WEBHOOK_EVENTS = {
    TICKET_CREATED: "A ticket was opened, by a customer's message or a logged call.",
    TICKET_ROUTED: "A new ticket got its first owning team from the routing rules.",
    TICKET_REASSIGNED: "A ticket moved from one team to another.",
    TICKET_ASSIGNED: "A ticket was assigned to an agent, or unassigned.",
    TICKET_UPDATED: "A ticket's status or priority changed.",
    TICKET_RESOLVED: "A ticket was resolved, with its resolution note.",
    MESSAGE_CREATED: "A message came in from a customer or an agent's reply went out.",
    CUSTOMER_MERGED: "One customer was merged into another.",
}

# ------------------------------------------------------------------ chat widget
# What a visitor's widget hears on its group: an entry of its numbered stream,
# and, relayed as they are, an agent typing and how far agents have read.
WIDGET_ENTRY = "entry"
WIDGET_TYPING = "typing"
WIDGET_READ = "read"

# ----------------------------------------------------------------------- groups
# Supervisors and admins hear everything that happens on the desk.
DESK_GROUP = "desk"

# The type a channel-layer message carries, so a consumer's desk_event() relays it.
LAYER_MESSAGE_TYPE = "desk.event"


def team_group(team_id: int) -> str:
    return f"team.{team_id}"


def ticket_group(ticket_id: int) -> str:
    return f"ticket.{ticket_id}"


def customer_group(customer_id: int) -> str:
    return f"customer.{customer_id}"


def ticket_groups(ticket) -> list[str]:
    """The groups that hear about a ticket: its team's, its own and its customer's."""
    groups = [ticket_group(ticket.pk), customer_group(ticket.customer_id), DESK_GROUP]
    if ticket.team_id:
        groups.append(team_group(ticket.team_id))
    return groups
