from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from supportdesk.api.tokens import do_issue_api_token
from supportdesk.models import ApiToken


class Command(BaseCommand):
    help = (
        "Make a REST API token for a desk user and print its key. Only a hash is "
        "kept: the key cannot be shown again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="The user's username.")
        parser.add_argument(
            "--scopes",
            default=ApiToken.Scope.READ,
            help="Comma-separated, of read, write, admin (admin ⊇ write ⊇ read). "
            "Default: read.",
        )
        parser.add_argument(
            "--name", required=True, help="What the token is for, e.g. CRM sync."
        )

    def handle(self, *args, user: str, scopes: str, name: str, **options) -> None:
        try:
            owner = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user {user!r}.") from None
        if not owner.is_active:
            raise CommandError(f"{user!r} is not active: its token would not work.")
        wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        if not name.strip():
            raise CommandError("Name the token: --name.")
        try:
            token, key = do_issue_api_token(
                user=owner, name=name.strip(), scopes=wanted
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        # The key alone on stdout, so a script can capture it.
        self.stdout.write(key)
        self.stderr.write(
            f"Token {token.name!r} ({token.key_start}…) for {owner.username}, "
            f"scopes {', '.join(token.scopes)}. Keep the key: it is not shown again."
        )
