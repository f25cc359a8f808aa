"""The names of the events an endpoint can subscribe to, and what each means.

They are the desk's public contract with receivers: a name, once published, keeps
its meaning. docs/webhooks.md documents the payload of each.
"""

TICKET_CREATED = "ticket.created"
TICKET_ROUTED = "ticket.routed"
TICKET_REASSIGNED = "ticket.reassigned"
TICKET_ASSIGNED = "ticket.assigned"
TICKET_UPDATED = "ticket.updated"
TICKET_RESOLVED = "ticket.resolved"
MESSAGE_CREATED = "message.created"
CUSTOMER_MERGED = "customer.merged"

EVENTS = {
    TICKET_CREATED: "A ticket was opened, by a customer's message or a logged call.",
    TICKET_ROUTED: "A new ticket got its first owning team from the routing rules.",
    TICKET_REASSIGNED: "A ticket moved from one team to another.",
    TICKET_ASSIGNED: "A ticket was assigned to an agent, or unassigned.",
    TICKET_UPDATED: "A ticket's status or priority changed.",
    TICKET_RESOLVED: "A ticket was resolved, with its resolution note.",
    MESSAGE_CREATED: "A message came in from a customer or an agent's reply went out.",
    CUSTOMER_MERGED: "One customer was merged into another.",
}

EVENT_CHOICES = [(name, name) for name in EVENTS]
