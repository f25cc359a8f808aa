"""Shared by the API's tests against a running desk: the rows behind each
collection's {id}, and a small desk built through its actions for them."""

from channels_app.ingest import receive_inbound
from channels_app.models import InboundRecord
from channels_app.outbound_webhooks.actions import do_create_endpoint
from channels_app.outbound_webhooks.outbox import forget_subscriptions
from customers.models import Customer, CustomerMerge, MergeSuggestion
from supportdesk.models import WebhookDelivery, WebhookEndpoint
from tests.helpers import deliver, message
from tickets.actions.merges import do_merge_customers
from tickets.actions.rules import do_create_rule
from tickets.models import (
    Agent,
    RouteChange,
    RoutingRule,
    Team,
    Ticket,
    TimelineEvent,
)

# The rows behind each collection's {id}, so that calls reach real objects.
ROWS = {
    "tickets": Ticket,
    "customers": Customer,
    "customer-merges": CustomerMerge,
    "merge-suggestions": MergeSuggestion,
    "rules": RoutingRule,
    "teams": Team,
    "agents": Agent,
    "route-changes": RouteChange,
    "inbound-records": InboundRecord,
    "webhook-endpoints": WebhookEndpoint,
    "webhook-deliveries": WebhookDelivery,
}


def seed_desk(*, billing: Team, actor: Agent, hooks_url: str) -> tuple[Ticket, Ticket]:
    """A webhook endpoint on `hooks_url` with its deliveries, a rule sending
    invoices to Billing, tickets of several customers, a merge by `actor` and a
    merge suggestion, and a failed inbound record: a row for every collection but
    the caller's teams and agents. Answers the tickets of Ana's login question
    and of Bo's invoice."""
    do_create_endpoint(url=hooks_url, events=["ticket.created"])
    forget_subscriptions()
    do_create_rule(name="Invoices", team=billing, keywords=["invoice"])
    ana = ("email", "ana@example.com")
    login = _opened(message("email", ana, subject="Login fails", text="No login."))
    bo = ("email", "bo@example.com")
    invoice = _opened(message("email", bo, subject="Invoice", text="Invoice wrong"))
    deliver(message("whatsapp", ("whatsapp", "14155552671"), text="Hello?"))
    deliver(message("email", ("email", "cy@example.com"), text="Me again"))
    deliver(message("email", ("email", "dee@example.com"), text="Hi, it is Cy"))
    # One message naming two known customers: a merge suggestion.
    deliver(message("email", ana, ("whatsapp", "14155552671"), text="Both"))
    cy, dee = (
        Customer.objects.get(identities__value=f"{name}@example.com")
        for name in ("cy", "dee")
    )
    do_merge_customers(source=dee, target=cy, actor=actor, reason="Same person")
    receive_inbound(channel="api", payload=b"not json at all")
    return login, invoice


def _opened(msg) -> Ticket:
    record = deliver(msg)
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket
