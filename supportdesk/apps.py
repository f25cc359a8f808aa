from django.apps import AppConfig


class SupportdeskConfig(AppConfig):
    name = "supportdesk"

    def ready(self) -> None:
        # Registers the deploy checks, which read the settings.
        from supportdesk import checks  # noqa: F401

        # Notes each new session in its agent's list as it signs in (auth's signal).
        from supportdesk.signin import sessions  # noqa: F401
