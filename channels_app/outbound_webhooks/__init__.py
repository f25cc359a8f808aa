"""Outbound webhooks: the desk's events, signed and posted to the URLs admins
register.

outbox.record() turns a published event into pending deliveries in the caller's
transaction (supportdesk.oncommit.publish_on_commit calls it, as
settings.EVENT_RECORDERS says); the task tasks.deliver_webhook posts each after
commit, with retries (delivery.py).
"""
