"""`hubforge org create NAME --admin USER [--fullname F] [--member USER:ROLE ...]
[--default-private]` and `hubforge org add-member NAME USER --role ROLE`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from common.errors import HubError
from orgs.models import OrgRole
from orgs.org_services import member_add, org_create, org_get
from orgs.services import user_get


def _member(text: str) -> tuple[str, str]:
    user, sep, role = text.rpartition(":")
    if not sep or not user or role not in OrgRole.values:
        raise CommandError(
            f"--member {text!r}: write USER:ROLE, ROLE one of {', '.join(OrgRole.values)}."
        )
    return user, role


class Command(BaseCommand):
    help = "Manage organizations: `org create NAME --admin USER ...`, `org add-member NAME USER`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create an organization with its first admin.")
        create.add_argument("name")
        create.add_argument("--admin", required=True, help="the first admin (a user name)")
        create.add_argument("--fullname", default="")
        create.add_argument(
            "--member",
            action="append",
            default=[],
            metavar="USER:ROLE",
            help=f"repeatable; ROLE one of {', '.join(OrgRole.values)}",
        )
        create.add_argument(
            "--default-private",
            action="store_true",
            help="new repos of the org are private unless asked otherwise",
        )
        add = sub.add_parser("add-member", help="Add a member, or change a member's role.")
        add.add_argument("name")
        add.add_argument("user")
        add.add_argument("--role", choices=OrgRole.values, default=OrgRole.READ)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["action"] == "create":
                members = [_member(m) for m in opts["member"]]
                with transaction.atomic():
                    org = org_create(
                        actor=None,
                        admin=user_get(username=opts["admin"]),
                        name=opts["name"],
                        fullname=opts["fullname"],
                        default_private=opts["default_private"],
                    )
                    for username, role in members:
                        member_add(actor=None, org=org, user=user_get(username=username), role=role)
                self.stdout.write(f"Created organization {org.name}.")
            else:
                org = org_get(name=opts["name"])
                m = member_add(
                    actor=None, org=org, user=user_get(username=opts["user"]), role=opts["role"]
                )
                self.stdout.write(f"{m.user.username} is {m.role} in {org.name}.")
        except HubError as exc:
            raise CommandError(exc.message) from None
