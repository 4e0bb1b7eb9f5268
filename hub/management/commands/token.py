from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import HubError
from orgs.services import token_create, user_get


class Command(BaseCommand):
    help = "Manage access tokens: `token create USER [--name N] [--role read|write]`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser(
            "create", help="Create a token and print it alone on the last line."
        )
        create.add_argument("user")
        create.add_argument("--name", default="cli")
        create.add_argument("--role", choices=["read", "write"], default="read")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            user = user_get(username=opts["user"])
            token, secret = token_create(user=user, name=opts["name"], role=opts["role"])
        except HubError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created {token.role} token {token.name!r} for {user.username}")
        self.stdout.write(secret)
