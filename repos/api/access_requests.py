"""Gated repos: the access-request API (contract 1.9), asking for access, team repos.

huggingface_hub HfApi.list_{pending,accepted,rejected}_access_requests
    -> GET /api/{models|datasets}/{repo}/user-access-request/{status} (Link-paginated)
accept_/reject_/cancel_access_request -> POST .../user-access-request/handle
grant_access -> POST .../user-access-request/grant (the client reads a JSON body)
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import AuthenticationError, BadRequestError, HubError, NotFoundError
from orgs.org_services import org_get, require_org_admin, team_get
from repos.access_requests import (
    access_request_create,
    access_request_grant,
    access_request_handle,
    access_request_list,
)
from repos.api.common import api_repo, hf_date, kind_from_plural, next_link
from repos.models import AccessRequest, RepoKind
from repos.selectors import repo_get
from repos.teams import org_repo_find, team_repo_add, team_repo_remove

PAGE_SIZE = 100


def request_json(r: AccessRequest) -> dict[str, Any]:
    return {
        "user": {
            "user": r.user.username,
            "fullname": r.user.fullname or r.user.username,
            # A granted user did not share an email through a request (contract 1.9).
            "email": None if r.granted else (r.user.email or None),
            "avatarUrl": "",
            "type": "user",
        },
        "requestId": str(r.pk),
        "status": r.status,
        "timestamp": hf_date(r.created_at),
        "fields": r.fields or None,
        **({"rejectionReason": r.rejection_reason} if r.rejection_reason else {}),
    }


class AccessRequestListApi(APIView):
    """GET .../user-access-request/{pending|accepted|rejected}; `?cursor=` pages by id."""

    def get(
        self, request: Request, plural: str, namespace: str, name: str, status: str
    ) -> Response:
        repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
        qs = access_request_list(actor=request.user, repo=repo, status=status).order_by("-pk")
        cursor = request.query_params.get("cursor")
        if cursor:
            try:
                qs = qs.filter(pk__lt=int(cursor))
            except ValueError:
                raise BadRequestError("Invalid cursor.") from None
        rows = list(qs[: PAGE_SIZE + 1])
        response = Response([request_json(r) for r in rows[:PAGE_SIZE]])
        if len(rows) > PAGE_SIZE:
            response["Link"] = next_link(request._request, cursor=str(rows[PAGE_SIZE - 1].pk))
        return response


class AccessRequestHandleApi(APIView):
    """POST .../user-access-request/handle {"user" | "requestId", "status",
    "rejectionReason"?}: accept, reject, or cancel (back to pending)."""

    class InputSerializer(serializers.Serializer):
        user = serializers.CharField(required=False, allow_null=True, default=None)
        requestId = serializers.CharField(required=False, allow_null=True, default=None)
        status = serializers.CharField()
        rejectionReason = serializers.CharField(
            required=False, allow_null=True, allow_blank=True, default=None
        )

    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        handled = access_request_handle(
            actor=request.user,
            repo=repo,
            status=d["status"],
            username=d["user"],
            request_id=d["requestId"],
            rejection_reason=d["rejectionReason"],
        )
        return Response(request_json(handled))


class AccessRequestGrantApi(APIView):
    """POST .../user-access-request/grant {"user"}."""

    class InputSerializer(serializers.Serializer):
        user = serializers.CharField()

    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        granted = access_request_grant(
            actor=request.user, repo=repo, username=s.validated_data["user"]
        )
        return Response(request_json(granted))


class AccessRequestCreateApi(APIView):
    """POST /api/{models|datasets}/{repo}/ask-access {"fields"?: {question: answer}}: the
    API twin of the repo page's request form."""

    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        if not request.user.is_authenticated:
            raise AuthenticationError("Sign in to request access.")
        repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
        fields = request.data.get("fields") if isinstance(request.data, dict) else None
        if fields is not None and not isinstance(fields, dict):
            raise BadRequestError("fields must be an object.")
        created = access_request_create(actor=request.user, repo=repo, fields=fields)
        return Response(request_json(created))


@require_POST
def ask_access(request: HttpRequest, kind: str, namespace: str, name: str) -> HttpResponse:
    """POST /{repo}/ask-access: the request form on a gated repo's page (a session POST,
    CSRF-checked). Answers come as `field_<n>` in the order of the repo's questions."""
    return csrf_protect(_ask_access)(request, kind, namespace, name)


def _ask_access(request: HttpRequest, kind: str, namespace: str, name: str) -> HttpResponse:
    from django.http import Http404

    from repos.access_requests import gate_questions

    if not request.user.is_authenticated:
        return redirect(
            f"/login?next=/{'datasets/' if kind == 'dataset' else ''}{namespace}/{name}"
        )
    try:
        repo = repo_get(user=request.user, kind=kind, namespace=namespace, name=name)
    except NotFoundError:
        raise Http404("Not found") from None
    questions = gate_questions(repo=repo)
    fields = {q: request.POST.get(f"field_{i}", "") for i, q in enumerate(questions)}
    try:
        created = access_request_create(actor=request.user, repo=repo, fields=fields)
    except HubError as exc:
        messages.error(request, exc.message)
    else:
        if created.status == AccessRequest.Status.ACCEPTED:
            messages.success(request, "Access granted: you can now download the files.")
        else:
            messages.success(request, "Request sent: the maintainers will review it.")
    return redirect(f"/{repo.url_path}")


class TeamRepoApi(APIView):
    """PUT /api/organizations/{org}/teams/{team}/repos/{models|datasets}/{name}: add a repo
    of the org to the team; DELETE: remove it (org admins)."""

    def _target(self, name: str, team: str, plural: str, repo_name: str):  # type: ignore[no-untyped-def]
        org = org_get(name=name)
        require_org_admin(self.request.user, org)  # before any lookup: no probing
        kind = RepoKind.DATASET if plural == "datasets" else RepoKind.MODEL
        return team_get(org=org, name=team), org_repo_find(org=org, full_id=repo_name, kind=kind)

    def put(self, request: Request, name: str, team: str, plural: str, repo: str) -> Response:
        t, r = self._target(name, team, plural, repo)
        team_repo_add(actor=request.user, team=t, repo=r)
        return Response({"team": t.name, "repo": r.full_name, "type": r.kind})

    def delete(self, request: Request, name: str, team: str, plural: str, repo: str) -> Response:
        t, r = self._target(name, team, plural, repo)
        team_repo_remove(actor=request.user, team=t, repo=r)
        return Response({})
