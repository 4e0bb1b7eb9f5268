"""Repo rename/transfer and settings: POST /api/repos/move, PUT /api/{T}/{repo}/settings."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import BadRequestError
from repos.api.common import api_repo, kind_from_plural
from repos.models import RepoKind
from repos.services import repo_move, repo_update_settings


def _split_id(repo_id: str, field: str) -> tuple[str, str]:
    namespace, sep, name = repo_id.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise BadRequestError(f"{field} must be 'namespace/name', not {repo_id!r}.")
    return namespace, name


def visibility_from(data: dict[str, Any]) -> bool | None:
    """private as a bool from `visibility` (clients >= 1.8) or legacy `private`; None if absent."""
    visibility = data.get("visibility")
    if visibility is not None:
        if visibility not in ("public", "private"):
            raise BadRequestError("visibility must be 'public' or 'private'.")
        return visibility == "private"
    private = data.get("private")
    if private is not None and not isinstance(private, bool):
        raise BadRequestError("private must be true or false.")
    return private


class RepoMoveApi(APIView):
    """huggingface_hub HfApi.move_repo -> POST /api/repos/move {fromRepo, toRepo, type}."""

    class InputSerializer(serializers.Serializer):
        fromRepo = serializers.CharField(max_length=200)
        toRepo = serializers.CharField(max_length=200)
        type = serializers.CharField(required=False, allow_null=True, default=RepoKind.MODEL)

    def post(self, request: Request) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        kind = d["type"] or RepoKind.MODEL
        if kind not in RepoKind.values:
            raise BadRequestError(f"Invalid repo type {kind!r}: use 'model' or 'dataset'.")
        from_ns, from_name = _split_id(d["fromRepo"], "fromRepo")
        to_ns, to_name = _split_id(d["toRepo"], "toRepo")
        repo = api_repo(request, kind=kind, namespace=from_ns, name=from_name)
        repo = repo_move(actor=request.user, repo=repo, to_namespace=to_ns, to_name=to_name)
        return Response({"url": repo.html_url, "name": repo.full_name})


class RepoSettingsApi(APIView):
    """huggingface_hub HfApi.update_repo_settings -> PUT /api/{T}/{repo}/settings.

    Body: {"gated": "auto"|"manual"|false, "visibility": "public"|"private"} (>= 1.8) or
    {"private": bool} (< 1.8). The client does not read the answer.
    """

    def put(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        data = request.data
        if not isinstance(data, dict):
            raise BadRequestError("Expected a JSON object.")
        repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
        repo = repo_update_settings(
            actor=request.user, repo=repo, private=visibility_from(data), gated=data.get("gated")
        )
        return Response({"private": repo.private, "gated": repo.gated or False})
