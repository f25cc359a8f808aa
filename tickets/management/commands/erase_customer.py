from django.core.management.base import BaseCommand, CommandError

from customers.identities import InvalidIdentityError, parse_identity
from customers.selectors import IdentityNotFoundError, customer_for_identity
from tickets.actions.erasure import ErasureError, do_erase_customer


class Command(BaseCommand):
    help = (
        "Erase one customer for good: identities, name, profile, the words and "
        "attachments of their messages, raw payloads, chat visitors and webhook "
        "deliveries. Counts, statuses and the route ledger stay; the audit records "
        "the erasure. It cannot be undone."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "identity",
            help="Any identity of the customer as kind:value, e.g. "
            "email:ana@example.com or phone:+14155552671.",
        )
        parser.add_argument(
            "--reason", required=True, help="Why, for the audit (e.g. the request)."
        )
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask for confirmation."
        )

    def handle(self, *args, identity: str, reason: str, yes: bool, **options):
        try:
            kind, value = parse_identity(identity)
            customer = customer_for_identity(kind=kind, value=value)
        except (InvalidIdentityError, IdentityNotFoundError) as exc:
            raise CommandError(f"Cannot erase {identity!r}: {exc}.") from exc
        if not yes:
            answer = input(
                f"Erase customer #{customer.pk} ({customer.tickets.count()} tickets) "
                "for good? Type 'erase' to go on: "
            )
            if answer.strip() != "erase":
                raise CommandError("Nothing erased.")
        try:
            entry = do_erase_customer(
                customer=customer, actor=None, reason=reason, via="command"
            )
        except ErasureError as exc:
            raise CommandError(f"Not erased: {exc}.") from exc
        counts = ", ".join(
            f"{count} {name.replace('_', ' ')}"
            for name, count in entry.details.items()
            if name != "via"
        )
        self.stdout.write(f"Erased customer #{customer.pk}: {counts}.")
