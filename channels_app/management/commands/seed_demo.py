from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from channels_app.demo import LOGINS, DemoError, seed_demo


class Command(BaseCommand):
    help = (
        "Fill the desk with demo teams, routing rules, logins and a few weeks of "
        "customer conversations. Safe to run again: what exists is left as it is. "
        "Only in demo mode (embedded, or DEMO=1)."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEMO:
            # A desk others can reach must not get logins whose passwords are
            # printed in the README: seeding it takes an explicit DEMO=1.
            self.stdout.write(
                "Not in demo mode (DATABASE_URL and REDIS_URL are set and DEMO is "
                "not 1): no demo data seeded. `make demo` or DEMO=1 seeds it; "
                "`manage.py createsuperuser` makes the first login."
            )
            return
        try:
            result = seed_demo()
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        if result.new_messages or result.created_logins:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo desk seeded: {result.new_messages} of "
                    f"{result.scripted_messages} customer messages and "
                    f"{len(result.created_logins)} logins were new."
                )
            )
        else:
            self.stdout.write("Demo desk already seeded: nothing changed.")
        self._print_logins()
        self.stdout.write(
            "\nAlso: /api/docs/ (the REST API)"
            + (
                ", /widget-demo/ (a shop page with the chat widget)"
                if settings.DEMO_INBOXES_ENABLED
                else ""
            )
        )

    def _print_logins(self) -> None:
        rows = [("username", "password", "role", "teams")] + [
            (
                login.username,
                login.password,
                login.role,
                ", ".join(login.team_names) or "-",
            )
            for login in LOGINS
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(4)]
        self.stdout.write("\nDemo logins:")
        for row in rows:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  " + "  ".join(cells).rstrip())
