"""Repo lifecycle API (the paths huggingface_hub uses)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import BadRequestError, ConflictError, RepoNotFoundError
from orgs.permissions import Action
from repos.models import RepoKind
from repos.selectors import repo_get, repo_lookup
from repos.services import repo_create, repo_delete


def _private_from(data: dict) -> bool | None:
    """`visibility` (clients >= 1.8) or the legacy `private` bool; None when the request
    says neither (the owner's default applies: an org may default to private)."""
    visibility = data.get("visibility")
    if visibility is not None:
        if visibility not in ("public", "private"):
            raise BadRequestError("visibility must be 'public' or 'private'.")
        return visibility == "private"
    private = data.get("private")
    return None if private is None else bool(private)


class RepoCreateApi(APIView):
    """huggingface_hub HfApi.create_repo -> POST /api/repos/create."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, trim_whitespace=False)
        organization = serializers.CharField(
            required=False, allow_null=True, allow_blank=True, default=None
        )
        type = serializers.CharField(required=False, allow_null=True, default=RepoKind.MODEL)
        private = serializers.BooleanField(required=False, allow_null=True, default=None)
        visibility = serializers.CharField(required=False, allow_null=True, default=None)

    def post(self, request: Request) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        kind = d["type"] or RepoKind.MODEL
        if kind == "space":
            raise BadRequestError("Spaces are not supported by this hub.")
        name = d["name"]
        namespace = d["organization"] or None
        if "/" in name:  # some clients send "ns/name" as the name
            namespace, _, name = name.partition("/")
        try:
            repo = repo_create(
                actor=request.user,
                namespace=namespace,
                name=name,
                kind=kind,
                private=_private_from(d),
            )
        except ConflictError as exc:
            # create_repo(exist_ok=True) swallows the 409 and then reads `url` from its body
            # (hf_api.py create_repo: `RepoUrl(r.json()["url"])`).
            existing = repo_lookup(
                kind=kind, namespace=namespace or request.user.username, name=name
            )
            if existing is None:
                raise
            raise ConflictError(exc.message, extra={"url": existing.html_url}) from None
        return Response({"url": repo.html_url, "name": repo.full_name, "id": str(repo.pk)})


class RepoDeleteApi(APIView):
    """huggingface_hub HfApi.delete_repo -> DELETE /api/repos/delete (JSON body)."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, trim_whitespace=False)
        organization = serializers.CharField(
            required=False, allow_null=True, allow_blank=True, default=None
        )
        type = serializers.CharField(required=False, allow_null=True, default=RepoKind.MODEL)

    def delete(self, request: Request) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        name = d["name"]
        namespace = d["organization"]
        if "/" in name:
            namespace, _, name = name.partition("/")
        if not namespace:
            if not request.user.is_authenticated:
                raise RepoNotFoundError(anonymous=True)
            namespace = request.user.username
        kind = d["type"] or RepoKind.MODEL
        if kind not in RepoKind.values:
            raise RepoNotFoundError(anonymous=not request.user.is_authenticated)
        repo = repo_get(
            user=request.user, kind=kind, namespace=namespace, name=name, action=Action.READ
        )
        repo_delete(actor=request.user, repo=repo)
        return Response({})
