"""Branches, tags and super-squash over HTTP (hf-api-contract.md 1.5 and 1.4).

The revision (or branch, or tag) is the rest of the path, percent-decoded: the client quotes
it with safe="" so `feature%2Fx` arrives here as `feature/x`.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods, require_POST

from common.errors import BadRequestError
from orgs.permissions import Action
from repos.api.commit import read_json_object
from repos.api.common import api_repo, hf_errors, kind_from_plural
from repos.commits import branch_create, branch_delete, branch_squash, tag_create, tag_delete
from repos.git.store import git_store
from repos.models import Repo


def _repo(request: HttpRequest, plural: str, namespace: str, name: str) -> Repo:
    return api_repo(
        request, kind=kind_from_plural(plural), namespace=namespace, name=name, action=Action.WRITE
    )


def _optional_str(body: dict[str, object], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequestError(f"`{key}` must be a string.")
    return value or None


@hf_errors
@require_http_methods(["POST", "DELETE"])
def branch(request: HttpRequest, plural: str, namespace: str, name: str, rev: str) -> HttpResponse:
    """HfApi.create_branch -> POST (body `{}` or `{"startingPoint": rev}`);
    delete_branch -> DELETE /api/{T}/{repo}/branch/{quote(branch, safe="")}."""
    repo = _repo(request, plural, namespace, name)
    if request.method == "DELETE":
        branch_delete(actor=request.user, repo=repo, branch=rev)
        return JsonResponse({})
    body = read_json_object(request)
    sha = branch_create(
        actor=request.user,
        repo=repo,
        branch=rev,
        starting_point=_optional_str(body, "startingPoint"),
    )
    return JsonResponse({"name": rev, "ref": f"refs/heads/{rev}", "targetCommit": sha})


@hf_errors
@require_http_methods(["POST", "DELETE"])
def tag(request: HttpRequest, plural: str, namespace: str, name: str, rev: str) -> HttpResponse:
    """HfApi.create_tag -> POST /api/{T}/{repo}/tag/{quote(revision)} with `{"tag", "message"?}`
    (the path names the *target*); delete_tag -> DELETE /api/{T}/{repo}/tag/{quote(tag)}."""
    repo = _repo(request, plural, namespace, name)
    if request.method == "DELETE":
        tag_delete(actor=request.user, repo=repo, tag=rev)
        return JsonResponse({})
    body = read_json_object(request)
    tag_name = body.get("tag")
    if not isinstance(tag_name, str) or not tag_name:
        raise BadRequestError("`tag` is required.")
    tag_create(
        actor=request.user,
        repo=repo,
        tag=tag_name,
        revision=rev,
        message=_optional_str(body, "message"),
    )
    # The commit the tag names, peeled through an annotated tag object (as list_repo_refs says).
    commit = git_store().resolve(repo.storage_key, f"refs/tags/{tag_name}")
    return JsonResponse({"name": tag_name, "ref": f"refs/tags/{tag_name}", "targetCommit": commit})


@hf_errors
@require_POST
def super_squash(
    request: HttpRequest, plural: str, namespace: str, name: str, rev: str
) -> HttpResponse:
    """HfApi.super_squash_history -> POST /api/{T}/{repo}/super-squash/{branch} `{"message"}`."""
    repo = _repo(request, plural, namespace, name)
    body = read_json_object(request)
    result = branch_squash(
        actor=request.user, repo=repo, branch=rev, message=_optional_str(body, "message") or ""
    )
    return JsonResponse({"commitOid": result.oid, "commitUrl": result.url})
