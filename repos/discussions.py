"""Discussions and pull requests (hf-api-contract.md 1.8): services and selectors.

Discussions and PRs share one number sequence per repo. A PR's changes live on the ref
`refs/pr/{num}`, created at the base branch head when the PR opens; commits land there
through the commit API (create_commit(create_pr=True) or revision="refs/pr/N") and a merge
moves the base branch. Every change publishes DiscussionChanged for webhooks.

Who may do what (orgs/permissions.py): readers who are signed in open discussions and PRs
and comment (can_discuss); the author and writers rename, close and reopen; writers merge;
a private repo is RepoNotFound for outsiders.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet

from common.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RepoNotFoundError,
    RevisionNotFoundError,
)
from orgs.models import User
from orgs.permissions import Action, can, can_discuss
from repos import events, pulls
from repos.git.store import ZERO_SHA, git_store
from repos.models import (
    Discussion,
    DiscussionEvent,
    DiscussionEventType,
    DiscussionStatus,
    Repo,
    public_base_url,
)
from repos.services import author_signature, repo_record_push

PAGE_SIZE = 50
MAX_TITLE = 200
MAX_COMMENT = 65536
_NUMBER_ATTEMPTS = 5


# --- permission helpers -----------------------------------------------------------------------


def _require_read(actor: User | AnonymousUser, repo: Repo) -> None:
    if not can(actor, Action.READ, repo):
        raise RepoNotFoundError(anonymous=not actor.is_authenticated)


def require_discuss(actor: User | AnonymousUser, repo: Repo) -> None:
    """Raise unless `actor` may open discussions/PRs and comment on `repo`."""
    _require_read(actor, repo)
    if not actor.is_authenticated:
        raise AuthenticationError("You must be signed in to take part in discussions.")
    if not can_discuss(actor, repo):
        raise PermissionDeniedError(
            f"Your token may not open discussions or comment on {repo.full_name}: it needs "
            "write access or the discussion.write permission."
        )


def _is_author_or_writer(actor: User | AnonymousUser, discussion: Discussion) -> bool:
    if can(actor, Action.WRITE, discussion.repo):
        return True
    return (
        actor.is_authenticated
        and discussion.author_id == actor.pk
        and can_discuss(actor, discussion.repo)
    )


def _require_author_or_writer(actor: User | AnonymousUser, discussion: Discussion) -> None:
    require_discuss(actor, discussion.repo)
    if not _is_author_or_writer(actor, discussion):
        raise PermissionDeniedError("Only the author and the repo's writers may do this.")


def may_commit_to_pr(actor: User | AnonymousUser, discussion: Discussion) -> bool:
    """The PR's author (while it is open) and the repo's writers may push to refs/pr/N."""
    if can(actor, Action.WRITE, discussion.repo):
        return True
    return (
        discussion.is_open
        and actor.is_authenticated
        and discussion.author_id == actor.pk
        and can_discuss(actor, discussion.repo)
    )


def pr_author_may_push(*, actor: User | AnonymousUser, repo: Repo) -> bool:
    """Does `actor` (not a writer) author an open pull request of `repo`, so that git may
    let it in to push that PR's ref? check_push then holds it to refs/pr/N of its own PRs."""
    if not actor.is_authenticated or not can_discuss(actor, repo):
        return False
    return Discussion.objects.filter(
        repo=repo,
        author_id=actor.pk,
        is_pull_request=True,
        status__in=[DiscussionStatus.OPEN, DiscussionStatus.DRAFT],
    ).exists()


def pr_push_refusal(*, actor: User | AnonymousUser, repo: Repo, ref: str, new: str) -> str | None:
    """Why a push may not update `ref` (None: it may). refs/pr/N: an open PR's, by its author
    or a writer, never deleted; any other ref: writers only."""
    if not ref.startswith("refs/pr/"):
        if can(actor, Action.WRITE, repo):
            return None
        return f"refusing to update {ref}: you may only push to your pull requests' refs/pr/N"
    pr = pr_for_ref(repo=repo, ref=ref)
    if pr is None:
        return f"refusing to update {ref}: open a pull request first (create_pull_request)"
    if new == ZERO_SHA:
        return f"refusing to delete {ref}: close the pull request instead"
    if not pr.is_open:
        return f"refusing to update {ref}: the pull request is {pr.status}"
    if not may_commit_to_pr(actor, pr):
        return f"refusing to update {ref}: only its author and the repo's writers may push to it"
    return None


def pr_record_push(
    *, actor: User | AnonymousUser, repo: Repo, ref: str, old: str, new: str
) -> None:
    """A git push moved refs/pr/N: note the commit in the PR's timeline."""
    pr = pr_for_ref(repo=repo, ref=ref)
    if pr is None or new == ZERO_SHA:
        return
    pr.repo = repo
    subject = git_store().commit(repo.storage_key, new).title
    pr_record_commit(actor=actor, discussion=pr, old=old, new=new, subject=subject)


# --- selectors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscussionPage:
    items: list[Discussion]
    count: int
    start: int


def discussion_list(
    *,
    viewer: User | AnonymousUser,
    repo: Repo,
    kind: str = "all",
    status: str = "all",
    author: str | None = None,
    search: str | None = None,
    page: int = 0,
) -> DiscussionPage:
    """A page of the repo's discussions, newest first. `kind`: all | discussion | pull_request;
    `status`: all | open (drafts included) | closed (merged included, as on the public hub)."""
    _require_read(viewer, repo)
    if kind not in ("all", "discussion", "pull_request"):
        raise BadRequestError("type must be one of all, discussion, pull_request.")
    if status not in ("all", "open", "closed", "merged", "draft"):
        raise BadRequestError("status must be one of all, open, closed.")
    if page < 0:
        raise BadRequestError("p must be a page number (0 or more).")
    qs: QuerySet[Discussion] = Discussion.objects.filter(repo=repo)
    if kind != "all":
        qs = qs.filter(is_pull_request=kind == "pull_request")
    if status == "open":
        qs = qs.filter(status__in=[DiscussionStatus.OPEN, DiscussionStatus.DRAFT])
    elif status == "closed":
        qs = qs.filter(status__in=[DiscussionStatus.CLOSED, DiscussionStatus.MERGED])
    elif status != "all":
        qs = qs.filter(status=status)
    if author:
        qs = qs.filter(author__username__iexact=author)
    if search:
        qs = qs.filter(title__icontains=search)
    count = qs.count()
    start = page * PAGE_SIZE
    items = list(qs.select_related("author").order_by("-num")[start : start + PAGE_SIZE])
    return DiscussionPage(items=items, count=count, start=start)


def discussion_counts(*, repo: Repo) -> dict[str, int]:
    """Open discussions and open PRs, for the Community tab's badge."""
    rows = Discussion.objects.filter(
        repo=repo, status__in=[DiscussionStatus.OPEN, DiscussionStatus.DRAFT]
    ).values_list("is_pull_request", flat=True)
    prs = sum(1 for r in rows if r)
    return {"discussions": len(rows) - prs, "pull_requests": prs, "open": len(rows)}


def discussion_get(*, viewer: User | AnonymousUser, repo: Repo, num: int | str) -> Discussion:
    """The discussion `num` of `repo`, or NotFoundError (RepoNotFound if the viewer can't read)."""
    _require_read(viewer, repo)
    try:
        number = int(num)
    except (TypeError, ValueError):
        number = -1
    discussion = (
        Discussion.objects.select_related("author", "repo", "repo__owner")
        .filter(repo=repo, num=number)
        .first()
    )
    if discussion is None:
        raise NotFoundError(f"Discussion #{num} not found in {repo.full_name}.")
    discussion.repo = repo
    return discussion


def discussion_events(*, discussion: Discussion) -> list[DiscussionEvent]:
    return list(discussion.events.select_related("author").order_by("pk"))


def discussion_url(discussion: Discussion) -> str:
    return f"{public_base_url()}/{discussion.repo.url_path}/discussions/{discussion.num}"


@dataclass(frozen=True)
class PullState:
    """A PR's git side: its head, the base head, conflicts and (optionally) the diff."""

    head: str | None
    base: str | None
    conflicts: tuple[str, ...]
    diff: str | None
    start: str | None = None  # where the PR's changes are counted from


def pull_state(*, discussion: Discussion, with_diff: bool) -> PullState:
    repo = discussion.repo
    refs = git_store().refs(repo.storage_key)
    head = refs.get(discussion.pr_ref)
    base = refs.get(discussion.base_ref)
    if head is None or base is None:
        return PullState(head, base, (), "" if with_diff else None)
    conflicts: tuple[str, ...] = ()
    if discussion.is_open:
        conflicts = pulls.merge_plan(repo, base=base, head=head).conflicts
    start = base
    if discussion.status == DiscussionStatus.MERGED and discussion.merge_commit:
        # After the merge the base holds the changes: show what the PR brought.
        parents = git_store().commit(repo.storage_key, discussion.merge_commit).parents
        start = parents[0] if parents and discussion.merge_commit != head else start
        if discussion.merge_commit == head:  # fast-forward: diff against where it began
            start = _first_commit_parent(discussion) or base
    diff = pulls.pr_diff(repo, base=start, head=head) if with_diff else None
    return PullState(head=head, base=base, conflicts=conflicts, diff=diff, start=start)


def _first_commit_parent(discussion: Discussion) -> str | None:
    first = discussion.events.filter(type=DiscussionEventType.COMMIT).order_by("pk").first()
    return (first.data or {}).get("parent") if first else None


# --- services ---------------------------------------------------------------------------------


def _clean_title(title: object) -> str:
    if not isinstance(title, str) or len(title.strip()) < 3:
        raise BadRequestError("The title must be at least 3 characters long.")
    title = " ".join(title.split())
    if len(title) > MAX_TITLE:
        raise BadRequestError(f"The title must be at most {MAX_TITLE} characters long.")
    return title


def _clean_comment(comment: object, *, allow_empty: bool = False) -> str:
    if not isinstance(comment, str) or (not comment.strip() and not allow_empty):
        raise BadRequestError("The comment must not be empty.")
    if len(comment) > MAX_COMMENT:
        raise BadRequestError(f"The comment must be at most {MAX_COMMENT} characters long.")
    return comment


def _add_event(
    discussion: Discussion, *, actor: User | AnonymousUser, type: str, data: dict[str, Any]
) -> DiscussionEvent:
    return DiscussionEvent.objects.create(
        discussion=discussion,
        type=type,
        author=actor if isinstance(actor, User) else None,
        data=data,
    )


def _add_comment(
    discussion: Discussion, *, actor: User | AnonymousUser, text: str
) -> DiscussionEvent:
    return _add_event(
        discussion,
        actor=actor,
        type=DiscussionEventType.COMMENT,
        data={"raw": text, "edited": False, "hidden": False},
    )


def _publish(
    discussion: Discussion, *, action: str, scope: str = "discussion", comment_id: str = ""
) -> None:
    repo = discussion.repo
    events.publish(
        events.DiscussionChanged(
            repo_id=repo.pk,
            full_name=repo.full_name,
            repo_kind=repo.kind,
            discussion_id=discussion.pk,
            num=discussion.num,
            action=action,
            scope=scope,
            comment_id=comment_id,
        )
    )


def _next_num(repo: Repo) -> int:
    top = Discussion.objects.filter(repo=repo).aggregate(top=Max("num"))["top"]
    return (top or 0) + 1


def discussion_create(
    *,
    actor: User | AnonymousUser,
    repo: Repo,
    title: str,
    description: str = "",
    pull_request: bool = False,
    base_branch: str | None = None,
    start_point: str | None = None,
) -> Discussion:
    """Open discussion N (the next number of the repo); a PR starts as a draft with the ref
    `refs/pr/N` at the base branch head, or at `start_point`, a commit the caller checked
    is in the base branch's history. The description is the first comment event."""
    require_discuss(actor, repo)
    title = _clean_title(title)
    description = _clean_comment(description or "", allow_empty=True)
    base_ref = ""
    base_sha = None
    if pull_request:
        branch = base_branch or repo.default_branch
        base_ref = branch if branch.startswith("refs/heads/") else f"refs/heads/{branch}"
        base_sha = git_store().refs(repo.storage_key).get(base_ref)
        if base_sha is None:
            raise RevisionNotFoundError(f"Invalid rev id: {branch}")
        base_sha = start_point or base_sha
    for _attempt in range(_NUMBER_ATTEMPTS):
        try:
            with transaction.atomic():
                discussion = Discussion.objects.create(
                    repo=repo,
                    num=_next_num(repo),
                    title=title,
                    author=actor,
                    is_pull_request=pull_request,
                    status=DiscussionStatus.DRAFT if pull_request else DiscussionStatus.OPEN,
                    base_ref=base_ref,
                )
                _add_comment(discussion, actor=actor, text=description)
                if base_sha is not None:
                    _create_pr_ref(repo, discussion, base_sha)
                _publish(discussion, action="create")
                return discussion
        except IntegrityError:  # another discussion took the number meanwhile
            time.sleep(0.01)
    raise ConflictError("Could not number the new discussion; try again.")


def _create_pr_ref(repo: Repo, discussion: Discussion, sha: str) -> None:
    store = git_store()
    stale = store.refs(repo.storage_key).get(discussion.pr_ref)
    if stale is not None:  # left by a discussion row lost with its transaction
        store.update_ref(repo.storage_key, discussion.pr_ref, stale, None)
    store.update_ref(repo.storage_key, discussion.pr_ref, None, sha)
    transaction.on_commit(
        lambda: repo_record_push(
            repo=repo,
            updates=[events.RefUpdate(ref=discussion.pr_ref, old=ZERO_SHA, new=sha)],
            source="api",
        )
    )


def discussion_comment(
    *, actor: User | AnonymousUser, discussion: Discussion, comment: str
) -> DiscussionEvent:
    """Add a comment (closed and merged discussions still take comments)."""
    require_discuss(actor, discussion.repo)
    text = _clean_comment(comment)
    with transaction.atomic():
        event = _add_comment(discussion, actor=actor, text=text)
        Discussion.objects.filter(pk=discussion.pk).update(updated_at=event.created_at)
        _publish(discussion, action="create", scope="discussion.comment", comment_id=event.event_id)
    return event


def discussion_rename(
    *, actor: User | AnonymousUser, discussion: Discussion, title: str
) -> DiscussionEvent:
    """Change the title (author or writers); records a title-change event."""
    _require_author_or_writer(actor, discussion)
    new = _clean_title(title)
    with transaction.atomic():
        old = discussion.title
        discussion.title = new
        discussion.save(update_fields=["title", "updated_at"])
        event = _add_event(
            discussion,
            actor=actor,
            type=DiscussionEventType.TITLE_CHANGE,
            data={"from": old, "to": new},
        )
        _publish(discussion, action="update")
    return event


def discussion_set_status(
    *, actor: User | AnonymousUser, discussion: Discussion, status: str, comment: str = ""
) -> DiscussionEvent:
    """Close or (re)open a discussion or PR (author or writers). A merged PR stays merged;
    opening a draft PR publishes it. An optional comment comes first in the timeline."""
    _require_author_or_writer(actor, discussion)
    if status not in (DiscussionStatus.OPEN, DiscussionStatus.CLOSED):
        raise BadRequestError("status must be 'open' or 'closed'.")
    if discussion.status == DiscussionStatus.MERGED:
        raise BadRequestError("This pull request is merged: its status cannot change.")
    if discussion.status == status:
        raise BadRequestError(f"This discussion is already {status}.")
    with transaction.atomic():
        if comment and comment.strip():
            _add_comment(discussion, actor=actor, text=_clean_comment(comment))
        discussion.status = status
        discussion.save(update_fields=["status", "updated_at"])
        event = _add_event(
            discussion, actor=actor, type=DiscussionEventType.STATUS_CHANGE, data={"status": status}
        )
        _publish(discussion, action="update")
    return event


def _comment_event(discussion: Discussion, comment_id: str) -> DiscussionEvent:
    event = (
        DiscussionEvent.objects.select_related("author")
        .filter(
            discussion=discussion,
            event_id=str(comment_id).lower(),
            type=DiscussionEventType.COMMENT,
        )
        .first()
    )
    if event is None:
        raise NotFoundError(f"Comment {comment_id} not found in discussion #{discussion.num}.")
    return event


def comment_edit(
    *, actor: User | AnonymousUser, discussion: Discussion, comment_id: str, content: str
) -> DiscussionEvent:
    """Replace a comment's text (its author only); keeps the previous texts in `history`."""
    require_discuss(actor, discussion.repo)
    event = _comment_event(discussion, comment_id)
    if event.author_id != actor.pk:
        raise PermissionDeniedError("Only the comment's author may edit it.")
    if event.data.get("hidden"):
        raise BadRequestError("A hidden comment cannot be edited.")
    text = _clean_comment(content, allow_empty=event == discussion.events.order_by("pk").first())
    history = [*event.data.get("history", []), event.data.get("raw", "")]
    event.data = {**event.data, "raw": text, "edited": True, "history": history}
    event.save(update_fields=["data", "updated_at"])
    return event


def comment_hide(
    *, actor: User | AnonymousUser, discussion: Discussion, comment_id: str
) -> DiscussionEvent:
    """Hide a comment for good (its author or the repo's writers); its text is dropped."""
    require_discuss(actor, discussion.repo)
    event = _comment_event(discussion, comment_id)
    if event.author_id != actor.pk and not can(actor, Action.WRITE, discussion.repo):
        raise PermissionDeniedError("Only the comment's author and the repo's writers may hide it.")
    event.data = {"raw": "", "edited": event.data.get("edited", False), "hidden": True}
    event.save(update_fields=["data", "updated_at"])
    return event


def pr_record_commit(
    *, actor: User | AnonymousUser, discussion: Discussion, old: str, new: str, subject: str
) -> None:
    """Note a commit pushed to the PR's ref (commit API or git push) in its timeline."""
    with transaction.atomic():
        _add_event(
            discussion,
            actor=actor,
            type=DiscussionEventType.COMMIT,
            data={"subject": subject, "oid": new, "parent": old},
        )
        discussion.save(update_fields=["updated_at"])
        _publish(discussion, action="update")


def pr_for_ref(*, repo: Repo, ref: str) -> Discussion | None:
    """The PR behind `refs/pr/N`, or None."""
    if not ref.startswith("refs/pr/") or not ref[8:].isdigit():
        return None
    return (
        Discussion.objects.select_related("author")
        .filter(repo=repo, num=int(ref[8:]), is_pull_request=True)
        .first()
    )


MERGE_ATTEMPTS = 5


def pull_request_merge(
    *, actor: User | AnonymousUser, discussion: Discussion, comment: str = ""
) -> str:
    """Merge the PR into its base branch (writers only): fast-forward when the base has not
    moved, else a merge commit; ConflictError (409) naming the conflicting files. Returns the
    commit now at the head of the base."""
    repo = discussion.repo
    _require_read(actor, repo)
    if not can(actor, Action.WRITE, repo):
        raise PermissionDeniedError(f"You need write access to {repo.full_name} to merge.")
    if not discussion.is_pull_request:
        raise BadRequestError(f"#{discussion.num} is a discussion, not a pull request.")
    if not discussion.is_open:
        raise BadRequestError(f"This pull request is {discussion.status}: it cannot be merged.")
    store = git_store()
    for _attempt in range(MERGE_ATTEMPTS):
        refs = store.refs(repo.storage_key)
        head, base = refs.get(discussion.pr_ref), refs.get(discussion.base_ref)
        if head is None or base is None:
            raise ConflictError(
                f"{discussion.pr_ref if head is None else discussion.base_ref} no longer exists."
            )
        plan = pulls.merge_plan(repo, base=base, head=head)
        if plan.up_to_date:
            raise BadRequestError("This pull request has no changes to merge.")
        if plan.conflicts:
            raise ConflictError(
                "This pull request has conflicts with "
                f"{discussion.base_ref.removeprefix('refs/heads/')}: "
                + ", ".join(plan.conflicts[:20]),
                extra={"filesWithConflicts": list(plan.conflicts)},
            )
        new = head if plan.fast_forward else _merge_commit(actor, discussion, plan)
        try:
            store.update_ref(repo.storage_key, discussion.base_ref, base, new)
        except ConflictError:
            continue  # the base moved meanwhile: plan again
        break
    else:
        raise ConflictError(f"{discussion.base_ref} kept moving while merging; try again.")
    with transaction.atomic():
        if comment and comment.strip():
            _add_comment(discussion, actor=actor, text=_clean_comment(comment))
        discussion.status = DiscussionStatus.MERGED
        discussion.merge_commit = new
        discussion.save(update_fields=["status", "merge_commit", "updated_at"])
        _add_event(
            discussion,
            actor=actor,
            type=DiscussionEventType.STATUS_CHANGE,
            data={"status": DiscussionStatus.MERGED},
        )
        repo_record_push(
            repo=repo,
            updates=[events.RefUpdate(ref=discussion.base_ref, old=base, new=new)],
            source="api",
        )
        _publish(discussion, action="update")
    return new


def _merge_commit(
    actor: User | AnonymousUser, discussion: Discussion, plan: pulls.MergePlan
) -> str:
    from dulwich.objects import Commit

    assert plan.tree is not None
    dulwich_repo = git_store().open(discussion.repo.storage_key)
    try:
        commit = Commit()
        commit.tree = plan.tree.encode()
        commit.parents = [plan.base.encode(), plan.head.encode()]
        commit.author = commit.committer = author_signature(
            actor if isinstance(actor, User) else None
        )
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        commit.message = (
            f"Merge {discussion.pr_ref}: {discussion.title}\n\nPull request #{discussion.num}.\n"
        ).encode()
        dulwich_repo.object_store.add_object(commit)
        return commit.id.decode()
    finally:
        dulwich_repo.close()
