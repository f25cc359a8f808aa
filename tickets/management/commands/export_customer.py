from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from customers.identities import InvalidIdentityError, parse_identity
from customers.selectors import IdentityNotFoundError, customer_for_identity
from tickets.export import customer_export, write_export


class Command(BaseCommand):
    help = (
        "Print everything the desk holds about one customer as JSON: profile, "
        "identities, tickets and the whole timeline, attachments as metadata only."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "identity",
            help="Any identity of the customer as kind:value, e.g. "
            "email:ana@example.com or phone:+14155552671.",
        )
        parser.add_argument(
            "--output", "-o", type=Path, help="Write to this file instead of stdout."
        )

    def handle(self, *args, identity: str, output: Path | None, **options) -> None:
        try:
            kind, value = parse_identity(identity)
            customer = customer_for_identity(kind=kind, value=value)
        except (InvalidIdentityError, IdentityNotFoundError) as exc:
            raise CommandError(f"Cannot export {identity!r}: {exc}.") from exc
        document = customer_export(customer=customer)
        if output is None:
            write_export(document, lambda text: self.stdout.write(text, ending=""))
            return
        with output.open("w", encoding="utf-8") as handle:
            write_export(document, handle.write)
        self.stderr.write(f"Exported customer #{customer.pk} to {output}.")
