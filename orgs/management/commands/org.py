"""`hubforge org create NAME --admin USER [--fullname F] [--member USER:ROLE ...]
[--default-private]`, `hubforge org add-member NAME USER --role ROLE`,
`hubforge org remove-member NAME USER` and
`hubforge org set NAME [--default-private | --no-default-private] [--fullname F]`."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from common.errors import HubError
from orgs.models import OrgRole
from orgs.org_services import member_add, member_remove, org_create, org_get, org_update
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
        remove = sub.add_parser(
            "remove-member", help="Remove a member (and its teams); not the last admin."
        )
        remove.add_argument("name")
        remove.add_argument("user")
        change = sub.add_parser("set", help="Change an organization's settings.")
        change.add_argument("name")
        change.add_argument("--fullname", default=None)
        change.add_argument(
            "--default-private",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="new repos of the org are private unless asked otherwise (--no-default-private: "
            "public)",
        )

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
            elif opts["action"] == "add-member":
                org = org_get(name=opts["name"])
                m = member_add(
                    actor=None, org=org, user=user_get(username=opts["user"]), role=opts["role"]
                )
                self.stdout.write(f"{m.user.username} is {m.role} in {org.name}.")
            elif opts["action"] == "remove-member":
                org = org_get(name=opts["name"])
                member_remove(actor=None, org=org, username=opts["user"])
                self.stdout.write(f"Removed {opts['user']} from {org.name}.")
            else:
                if opts["fullname"] is None and opts["default_private"] is None:
                    raise CommandError("Nothing to change: give --fullname or --default-private.")
                org = org_update(
                    actor=None,
                    org=org_get(name=opts["name"]),
                    fullname=opts["fullname"],
                    default_private=opts["default_private"],
                )
                visibility = "private" if org.default_private else "public"
                self.stdout.write(f"{org.name}: {org.display_name}, new repos {visibility}.")
        except HubError as exc:
            raise CommandError(exc.message) from None
