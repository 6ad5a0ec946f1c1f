"""`despp token create USERNAME [--name NAME]` prints a new API token (and nothing else) on
stdout; `despp token revoke PREFIX`; `despp token list [USERNAME]`. Issuing and revoking are
audited and appended to the user's event stream.
"""

import getpass
import io
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.table import Table

from despp.core import tokens
from despp.core.models import ApiToken, User


def _local(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M %Z}"


def _operator() -> str:
    # Who ran the command, as the OS knows them: the audit's "who" for command-line changes.
    try:
        return f"(command line: {getpass.getuser()})"
    except (KeyError, OSError):
        return "(command line)"


class Command(BaseCommand):
    help = "Create, revoke and list API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        ops = parser.add_subparsers(dest="op", required=True, metavar="{create,revoke,list}")
        create = ops.add_parser("create", help="issue a token; prints only the token")
        create.add_argument("username")
        create.add_argument("--name", default="", help="which client holds it (default: cli)")
        revoke = ops.add_parser("revoke", help="revoke the token starting with PREFIX")
        revoke.add_argument("prefix")
        listing = ops.add_parser("list", help="list tokens (of USERNAME)")
        listing.add_argument("username", nargs="?")

    def handle(self, *args: Any, **options: Any) -> None:
        {"create": self._create, "revoke": self._revoke, "list": self._list}[options["op"]](options)

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        return user

    def _create(self, options: dict[str, Any]) -> None:
        user = self._user(options["username"])
        try:
            issued = tokens.issue_token(user, options["name"] or "cli", actor_label=_operator())
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        # Only the token on stdout, so `TOKEN=$(despp token create alice)` just works.
        self.stdout.write(issued.plaintext)
        self.stderr.write(
            f"Issued token {issued.token.prefix}… ({issued.token.name}) for {user.username}. "
            "It is shown only this once."
        )

    def _revoke(self, options: dict[str, Any]) -> None:
        try:
            token = tokens.find_token(options["prefix"])
        except tokens.TokenNotFound as exc:
            raise CommandError(str(exc)) from exc
        if tokens.revoke_token(token, actor_label=_operator()):
            self.stdout.write(f"Revoked {token.prefix}… ({token.name}) of {token.user.username}.")
        else:
            revoked = _local(token.revoked_at) if token.revoked_at else "?"
            self.stdout.write(f"{token.prefix}… was already revoked ({revoked}).")

    def _list(self, options: dict[str, Any]) -> None:
        queryset = ApiToken.objects.select_related("user").order_by("user__username", "-created_at")
        if options["username"]:
            queryset = queryset.filter(user=self._user(options["username"]))
        table = Table("prefix", "name", "user", "created", "last used", "revoked")
        for token in queryset:
            table.add_row(
                f"{token.prefix}…",
                token.name,
                token.user.username,
                _local(token.created_at),
                _local(token.last_used_at) if token.last_used_at else "never",
                _local(token.revoked_at) if token.revoked_at else "",
            )
        buffer = io.StringIO()
        Console(file=buffer, width=120).print(table)
        self.stdout.write(buffer.getvalue(), ending="")
