"""`hubforge quota set NAME BYTES`, `hubforge quota show NAME`, `hubforge quota refresh [NAME]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import HubError
from common.sizes import format_bytes
from orgs.models import Namespace
from repos.models import Repo
from repos.quotas import (
    lfs_usage_recount,
    namespace_usage,
    parse_quota,
    quota_set,
    repo_storage_list,
    repo_usage_refresh,
)


def _namespace(name: str) -> Namespace:
    namespace = Namespace.objects.filter(name__iexact=name).first()
    if namespace is None:
        raise CommandError(f"No user or organization named {name}.")
    return namespace


class Command(BaseCommand):
    help = "Storage quotas: `quota set NAME BYTES`, `quota show NAME`, `quota refresh [NAME]`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        set_ = sub.add_parser(
            "set", help="Override a namespace's quota (audited as a change by the command line)."
        )
        set_.add_argument("name", help="a user or organization")
        set_.add_argument(
            "bytes",
            help="bytes, or with a unit (500MB, 10GiB); 'unlimited' (or 0); 'default' to "
            "remove the override",
        )
        show = sub.add_parser("show", help="Usage, quota and the largest repos of a namespace.")
        show.add_argument("name")
        refresh = sub.add_parser(
            "refresh",
            help="Re-measure git objects and recount LFS of a namespace (no NAME: every one).",
        )
        refresh.add_argument("name", nargs="?")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["action"] == "set":
                quota = quota_set(
                    actor=None, namespace=opts["name"], quota=parse_quota(opts["bytes"])
                )
                shown = format_bytes(quota.bytes)
                self.stdout.write(
                    f"Quota of {_namespace(opts['name']).name}: {shown} ({quota.source})."
                )
            elif opts["action"] == "show":
                self._show(_namespace(opts["name"]))
            else:
                repos, owners = Repo.objects.all(), Namespace.objects.filter(repos__isnull=False)
                where = ""
                if opts["name"]:
                    namespace = _namespace(opts["name"])
                    repos, where = repos.filter(owner=namespace), f" of {namespace.name}"
                    owners = owners.filter(pk=namespace.pk)
                count = 0
                for repo_id in repos.values_list("pk", flat=True).iterator(chunk_size=1000):
                    repo_usage_refresh(repo_id=repo_id)
                    count += 1
                for namespace_id in owners.distinct().values_list("pk", flat=True).iterator():
                    lfs_usage_recount(namespace_id=namespace_id)
                self.stdout.write(f"Measured {count} repos{where}, LFS counted again.")
        except HubError as exc:
            raise CommandError(exc.message) from None

    def _show(self, namespace: Namespace) -> None:
        usage = namespace_usage(namespace=namespace)
        quota = format_bytes(usage.quota.bytes)
        percent = f" ({usage.percent}%)" if usage.percent is not None else ""
        self.stdout.write(
            f"{namespace.name} ({namespace.kind}): {format_bytes(usage.used_bytes)} used of "
            f"{quota}{percent}, quota from {usage.quota.source}\n"
            f"  git {format_bytes(usage.git_bytes)}, LFS {format_bytes(usage.lfs_bytes)} "
            "(each LFS object once)"
        )
        for row in repo_storage_list(namespace=namespace, limit=10):
            self.stdout.write(
                f"  {row.repo.kind:8} {row.repo.full_name}: {format_bytes(row.total)} "
                f"(git {format_bytes(row.git_bytes)}, LFS {format_bytes(row.lfs_bytes)})"
            )
