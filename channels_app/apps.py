from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    verbose_name = "Channels"

    def ready(self) -> None:
        # Connects anymail's inbound signal, which needs the apps loaded.
        from channels_app.email import anymail_inbound

        # Mail from providers' inbound webhooks (anymail's views) enters here.
        anymail_inbound.connect()

        # Registers the deploy checks for demo data, which query the models.
        from channels_app import checks  # noqa: F401
