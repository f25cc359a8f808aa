from django.apps import AppConfig


class SupportdeskConfig(AppConfig):
    name = "supportdesk"

    def ready(self) -> None:
        # Registers the deploy checks, which read the settings.
        from supportdesk import checks  # noqa: F401
