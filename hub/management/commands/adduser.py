from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import HubError
from orgs.services import token_create, user_create


class Command(BaseCommand):
    help = "Create a user; with --token, print a new access token alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--password", required=True)
        parser.add_argument("--fullname", default="")
        parser.add_argument("--email", default="")
        parser.add_argument("--admin", action="store_true")
        parser.add_argument("--token", choices=["read", "write"])

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            user = user_create(
                username=opts["name"],
                password=opts["password"],
                email=opts["email"],
                fullname=opts["fullname"],
                is_admin=opts["admin"],
                check_password_strength=False,  # operators and scripts choose their own
            )
        except HubError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"Created user {user.username}" + (" (admin)" if user.is_superuser else "")
        )
        if opts["token"]:
            _, secret = token_create(user=user, name="cli", role=opts["token"])
            self.stdout.write(secret)
