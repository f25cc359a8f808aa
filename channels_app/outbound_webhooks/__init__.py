"""Outbound webhooks: the desk's events, signed and posted to the URLs admins
register.

record() turns a realtime event into pending deliveries in the caller's
transaction (supportdesk.oncommit.publish_on_commit calls it); the task
supportdesk.tasks.deliver_webhook posts each after commit, with retries.
"""

from supportdesk.webhooks.names import EVENT_CHOICES, EVENTS
from supportdesk.webhooks.outbox import forget_subscriptions, record

__all__ = ["EVENTS", "EVENT_CHOICES", "forget_subscriptions", "record"]
