"""Gated repos: access requests (ask, review, grant) and the questions a repo asks.

A gated repo's metadata is public (when the repo is); its files are for those with a role
on it and for users whose request was accepted (orgs/permissions.py `can_download`). In
`auto` mode a request is accepted at once; in `manual` mode it waits for a maintainer
(anyone who may write to the repo).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from common.errors import (
    AuthenticationError,
    BadRequestError,
    GatedRepoError,
    NotFoundError,
    PermissionDeniedError,
    RepoNotFoundError,
)
from orgs.audit import audit_log
from orgs.models import User
from orgs.permissions import Action, can, can_download, forget_grants
from repos.models import AccessRequest, GateSettings, Repo

Status = AccessRequest.Status
MAX_QUESTIONS = 10
MAX_ANSWER = 1000


def accepted_repo_ids(user: User) -> Iterable[int]:
    """Registered with orgs.permissions: the gated repos `user` was let into."""
    return AccessRequest.objects.filter(user_id=user.pk, status=Status.ACCEPTED).values_list(
        "repo_id", flat=True
    )


def _require_maintainer(actor: User | AnonymousUser, repo: Repo) -> None:
    """Who reviews requests: anyone who may write to the repo (as on the public hub)."""
    if can(actor, Action.WRITE, repo):
        return
    if not can(actor, Action.READ, repo):
        raise RepoNotFoundError(anonymous=not actor.is_authenticated)
    raise PermissionDeniedError(
        f"You don't have the rights to manage access requests of {repo.full_name}."
    )


def require_download(user: User | AnonymousUser, repo: Repo) -> None:
    """GatedRepoError (401 anonymous, 403 others) unless `user` may fetch the files of
    `repo` (which the caller found readable): the git and LFS doors, as /resolve does."""
    if can_download(user, repo):
        return
    kind = "model" if repo.kind == "model" else "dataset"
    raise GatedRepoError(
        f"Access to {kind} {repo.full_name} is restricted and you are not in the authorized "
        f"list. Visit {repo.html_url} to ask for access.",
        status=401 if not user.is_authenticated else 403,
    )


# --- questions --------------------------------------------------------------------------------


def gate_questions(*, repo: Repo) -> list[str]:
    row = GateSettings.objects.filter(repo=repo).values_list("questions", flat=True).first()
    return list(row or [])


def gate_questions_set(
    *, actor: User | AnonymousUser, repo: Repo, questions: list[str]
) -> list[str]:
    """The field names the request form asks for (empty: no questions)."""
    if not can(actor, Action.ADMIN, repo):
        _require_maintainer(actor, repo)
        raise PermissionDeniedError(f"You don't have the rights to change {repo.full_name}.")
    cleaned: list[str] = []
    for q in questions:
        q = " ".join(str(q).split())
        if q and q not in cleaned:
            if len(q) > 100:
                raise BadRequestError("A question is at most 100 characters.")
            cleaned.append(q)
    if len(cleaned) > MAX_QUESTIONS:
        raise BadRequestError(f"At most {MAX_QUESTIONS} questions.")
    GateSettings.objects.update_or_create(repo=repo, defaults={"questions": cleaned})
    audit_log(verb="repo.gating", actor=actor, target=repo, details={"questions": cleaned})
    return cleaned


# --- asking -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateStatus:
    """What a gated repo's page shows the viewer."""

    gated: bool
    can_download: bool
    request: AccessRequest | None
    questions: list[str]


def gate_status_get(*, repo: Repo, viewer: User | AnonymousUser) -> GateStatus:
    if not repo.gated:
        return GateStatus(False, True, None, [])
    request = None
    if viewer.is_authenticated:
        request = AccessRequest.objects.filter(repo=repo, user_id=viewer.pk).first()
    return GateStatus(True, can_download(viewer, repo), request, gate_questions(repo=repo))


@transaction.atomic
def access_request_create(
    *, actor: User | AnonymousUser, repo: Repo, fields: dict[str, Any] | None = None
) -> AccessRequest:
    """Ask for access to a gated repo (the caller checked the repo is readable). Answers
    must cover every question. Auto mode accepts at once. Asking again while pending
    updates the answers; a rejected request stays rejected."""
    if not actor.is_authenticated:
        raise AuthenticationError("Sign in to request access.")
    if not repo.gated:
        raise BadRequestError(f"{repo.full_name} is not gated.")
    answers: dict[str, str] = {}
    given = fields or {}
    for question in gate_questions(repo=repo):
        value = " ".join(str(given.get(question) or "").split())
        if not value:
            raise BadRequestError(f"Please answer: {question}")
        answers[question] = value[:MAX_ANSWER]
    status = Status.ACCEPTED if repo.gated == "auto" else Status.PENDING
    existing = AccessRequest.objects.select_for_update().filter(repo=repo, user=actor).first()
    if existing is not None:
        if existing.status == Status.PENDING:
            existing.fields = answers
            existing.status = status
            existing.save(update_fields=["fields", "status", "updated_at"])
        forget_grants(actor)
        return existing
    try:
        with transaction.atomic():
            request = AccessRequest.objects.create(
                repo=repo, user=actor, status=status, fields=answers
            )
    except IntegrityError:  # a double submit: the first one stands
        return AccessRequest.objects.get(repo=repo, user=actor)
    forget_grants(actor)
    audit_log(verb="repo.access.request", actor=actor, target=repo, details={"status": status})
    return request


# --- reviewing --------------------------------------------------------------------------------


def access_request_list(
    *, actor: User | AnonymousUser, repo: Repo, status: str
) -> QuerySet[AccessRequest]:
    _require_maintainer(actor, repo)
    if status not in Status.values:
        raise NotFoundError(f"Unknown status {status!r}.")
    return AccessRequest.objects.filter(repo=repo, status=status).select_related("user")


def _find(repo: Repo, *, username: str | None, request_id: str | int | None) -> AccessRequest:
    qs = AccessRequest.objects.select_for_update().filter(repo=repo)
    if username:
        request = qs.filter(user__username__iexact=username).first()
    elif request_id not in (None, ""):
        try:
            request = qs.filter(pk=int(request_id)).first()  # type: ignore[arg-type]
        except (TypeError, ValueError):
            request = None
    else:
        raise BadRequestError("Give either 'user' or 'requestId'.")
    if request is None:
        raise NotFoundError("Access request not found.")
    return request


@transaction.atomic
def access_request_handle(
    *,
    actor: User | AnonymousUser,
    repo: Repo,
    status: str,
    username: str | None = None,
    request_id: str | int | None = None,
    rejection_reason: str | None = None,
) -> AccessRequest:
    """Accept, reject, or put back to pending (cancel) a request; BadRequest when it is
    already in that state (huggingface_hub's tests expect an error)."""
    _require_maintainer(actor, repo)
    if status not in Status.values:
        raise BadRequestError("status must be 'accepted', 'rejected' or 'pending'.")
    request = _find(repo, username=username, request_id=request_id)
    if request.status == status:
        raise BadRequestError(f"This access request is already {status}.")
    old = request.status
    request.status = status
    request.handled_by = actor  # type: ignore[assignment]
    request.rejection_reason = (rejection_reason or "")[:500] if status == Status.REJECTED else ""
    request.save(update_fields=["status", "handled_by", "rejection_reason", "updated_at"])
    audit_log(
        verb="repo.access.handle",
        actor=actor,
        target=repo,
        details={"user": request.user.username, "old": old, "new": status},
    )
    return request


@transaction.atomic
def access_request_grant(
    *, actor: User | AnonymousUser, repo: Repo, username: str
) -> AccessRequest:
    """Let a user in without a request; BadRequest when the repo is not gated or the user
    already has access through a request."""
    _require_maintainer(actor, repo)
    if not repo.gated:
        raise BadRequestError(f"{repo.full_name} is not gated.")
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        raise NotFoundError(f"User {username!r} not found.")
    request = AccessRequest.objects.select_for_update().filter(repo=repo, user=user).first()
    if request is not None and request.status == Status.ACCEPTED:
        raise BadRequestError(f"{user.username} already has access to {repo.full_name}.")
    if request is None:
        request = AccessRequest(repo=repo, user=user, granted=True)
    request.status = Status.ACCEPTED
    request.handled_by = actor  # type: ignore[assignment]
    request.save()
    audit_log(verb="repo.access.grant", actor=actor, target=repo, details={"user": user.username})
    return request
