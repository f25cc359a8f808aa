from django.apps import AppConfig


class OutboundWebhooksConfig(AppConfig):
    """Outbound webhooks: the desk's events, signed and posted to the URLs admins
    register. Their tables belong to the supportdesk app, where they began."""

    name = "channels_app.outbound_webhooks"
    label = "outbound_webhooks"
    verbose_name = "Outbound webhooks"
