from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import HubError
from orgs.services import token_create, user_get
from orgs.tokens import PERMISSIONS, parse_scope


def _expiry(text: str) -> datetime:
    """`30d` (days from now) or a date `YYYY-MM-DD` (valid through that day, UTC)."""
    if text.endswith("d") and text[:-1].isdigit():
        return datetime.now(UTC) + timedelta(days=int(text[:-1]))
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--expires {text!r}: use Nd (days) or YYYY-MM-DD.") from None
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Manage access tokens: `token create USER [--name N] [--role read|write|fineGrained] "
        "[--scope TYPE:NAME:PERM[,PERM]]... [--expires 30d|YYYY-MM-DD]`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser(
            "create", help="Create a token and print it alone on the last line."
        )
        create.add_argument("user")
        create.add_argument("--name", default="cli")
        create.add_argument("--role", choices=["read", "write", "fineGrained"], default="read")
        create.add_argument(
            "--scope",
            action="append",
            default=[],
            metavar="TYPE:NAME:PERMS",
            help=(
                "fine-grained scope, repeatable: TYPE is model, dataset, user or org; PERMS a "
                f"comma-separated list of {', '.join(PERMISSIONS)}. "
                "Example: model:alice/bert:repo.content.read"
            ),
        )
        create.add_argument("--expires", help="30d (days from now) or YYYY-MM-DD")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            user = user_get(username=opts["user"])
            token, secret = token_create(
                user=user,
                name=opts["name"],
                role=opts["role"],
                scopes=[parse_scope(s) for s in opts["scope"]],
                expires_at=_expiry(opts["expires"]) if opts["expires"] else None,
            )
        except HubError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created {token.role} token {token.name!r} for {user.username}")
        for scope in token.scopes:
            perms = ", ".join(scope["permissions"])
            self.stdout.write(f"  {scope['type']} {scope['name']}: {perms}")
        self.stdout.write(secret)
