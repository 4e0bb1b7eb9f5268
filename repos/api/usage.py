"""Storage usage and quotas over HTTP.

- GET /api/users/{name}/usage, GET /api/organizations/{name}/usage: used / quota, git and LFS,
  the largest repos (the namespace itself, its org admins, site admins).
- GET, PUT, DELETE /api/admin/quotas/{name}: a site admin reads, overrides or resets a quota.
- huggingface_hub HfApi.list_user_repos -> GET /api/settings/repositories and
  GET /api/organizations/{name}/settings/repositories: every repo with its `storage` and
  `storagePercent` (hf-api-contract.md 1.2), paginated with `Link`.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import AuthenticationError
from orgs.models import Namespace
from repos.api.common import hf_date, next_link
from repos.api.listing import page_size
from repos.quotas import (
    Usage,
    namespace_for_usage,
    namespace_usage,
    parse_quota,
    quota_set,
    repo_storage_list,
    require_site_admin,
)

TOP_REPOS = 10


def usage_json(usage: Usage, *, top: int = TOP_REPOS) -> dict[str, Any]:
    """The usage document of the API (and of `hubforge quota show`'s figures)."""
    namespace = usage.namespace
    return {
        "name": namespace.name,
        "type": "org" if namespace.kind == Namespace.Kind.ORG else "user",
        "usedBytes": usage.used_bytes,
        "gitBytes": usage.git_bytes,
        "lfsBytes": usage.lfs_bytes,
        "quotaBytes": usage.quota.bytes,  # null: unlimited
        "quotaSource": usage.quota.source,  # "default" (settings) or "override"
        "usedPercent": usage.percent,
        "repos": [
            {
                "id": row.repo.full_name,
                "type": row.repo.kind,
                "storage": row.total,
                "gitBytes": row.git_bytes,
                "lfsBytes": row.lfs_bytes,
            }
            for row in repo_storage_list(namespace=namespace, limit=top)
        ],
    }


class NamespaceUsageApi(APIView):
    """GET /api/users/{name}/usage and /api/organizations/{name}/usage."""

    kind: str = Namespace.Kind.USER

    def get(self, request: Request, name: str) -> Response:
        namespace = namespace_for_usage(viewer=request.user, name=name, kind=self.kind)
        return Response(usage_json(namespace_usage(namespace=namespace)))


class OrgUsageApi(NamespaceUsageApi):
    kind = Namespace.Kind.ORG


class QuotaAdminApi(APIView):
    """GET, PUT {"quota": bytes | "10GiB" | "unlimited" | "default"}, DELETE (back to the
    default) /api/admin/quotas/{name}: site admins only; every change is audited."""

    class InputSerializer(serializers.Serializer):
        quota = serializers.JSONField()

    def get(self, request: Request, name: str) -> Response:
        require_site_admin(request.user)  # namespace admins read the usage endpoints
        namespace = namespace_for_usage(viewer=request.user, name=name, kind=None)
        return Response(usage_json(namespace_usage(namespace=namespace)))

    def put(self, request: Request, name: str) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        quota_set(actor=request.user, namespace=name, quota=parse_quota(s.validated_data["quota"]))
        namespace = namespace_for_usage(viewer=request.user, name=name, kind=None)
        return Response(usage_json(namespace_usage(namespace=namespace)))

    def delete(self, request: Request, name: str) -> Response:
        quota_set(actor=request.user, namespace=name, quota=parse_quota("default"))
        namespace = namespace_for_usage(viewer=request.user, name=name, kind=None)
        return Response(usage_json(namespace_usage(namespace=namespace)))


class RepoStorageListApi(APIView):
    """HfApi.list_user_repos -> [{id, type, updatedAt, visibility, storage, storagePercent}]."""

    def get(self, request: Request, name: str | None = None) -> Response:
        kind = Namespace.Kind.ORG
        if name is None:  # the signed-in user's own repos
            if not request.user.is_authenticated:
                raise AuthenticationError("Sign in to list your repositories.")
            if request.user.namespace is None:  # made outside the hub: owns nothing
                return Response([])
            name, kind = request.user.namespace.name, Namespace.Kind.USER
        namespace = namespace_for_usage(viewer=request.user, name=name, kind=kind)
        usage = namespace_usage(namespace=namespace)
        rows = repo_storage_list(namespace=namespace)
        size = page_size()
        try:
            start = max(int(request.query_params.get("p", "0")), 0)
        except ValueError:
            start = 0
        page = rows[start * size : (start + 1) * size]
        response = Response(
            [
                {
                    "id": row.repo.full_name,
                    "type": row.repo.kind,
                    "updatedAt": hf_date(row.repo.last_modified),
                    "visibility": "private" if row.repo.private else "public",
                    "storage": row.total,
                    # The share of the namespace's total (whose LFS objects count once).
                    "storagePercent": round(100 * row.total / max(usage.used_bytes, 1), 2),
                }
                for row in page
            ]
        )
        if (start + 1) * size < len(rows):
            response["Link"] = next_link(request, p=str(start + 1))
        return response
