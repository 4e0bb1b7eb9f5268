"""Repo events as the public hub's webhook payload (huggingface_hub `_webhooks_payload.py`,
the ReportV3 shape): `event {action, scope}`, `repo {...}`, `updatedRefs`, `movedTo`,
`webhook {id, version: 3}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from repos import events
from repos.git.store import git_store
from repos.models import (
    API_PLURAL,
    URL_PREFIX,
    Discussion,
    DiscussionEvent,
    Repo,
    RepoKind,
    public_base_url,
)

WEBHOOK_VERSION = 3
ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class Message:
    """What one event tells every subscriber; only `webhook.id` differs between them."""

    action: str  # create | delete | update | move
    scope: str  # repo | repo.content | repo.config | discussion | discussion.comment
    repo: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)  # updatedRefs, movedTo, discussion

    @property
    def domain(self) -> str:
        """The webhook domain that hears it: `discussion` or `repo`."""
        return "discussion" if self.scope.startswith("discussion") else "repo"

    @property
    def repo_name(self) -> str:
        return str(self.repo["name"])

    def body(self, *, webhook_id: str) -> str:
        """The JSON text sent (and signed) for one webhook."""
        document = {
            "event": {"action": self.action, "scope": self.scope},
            "repo": self.repo,
            **self.extra,
            "webhook": {"id": webhook_id, "version": WEBHOOK_VERSION},
        }
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _urls(kind: str, full_name: str) -> dict[str, str]:
    base = public_base_url()
    return {
        "web": f"{base}/{URL_PREFIX[RepoKind(kind)]}{full_name}",
        "api": f"{base}/api/{API_PLURAL[RepoKind(kind)]}/{full_name}",
    }


def _head_sha(repo: Repo) -> str | None:
    try:
        return git_store().resolve(repo.storage_key, repo.default_branch)
    except Exception:  # an empty or missing repo has no head; the field is optional
        return None


def repo_document(repo: Repo, *, name: str | None = None) -> dict[str, Any]:
    full_name = name or repo.full_name
    document: dict[str, Any] = {
        "type": repo.kind,
        "name": full_name,
        "id": str(repo.pk),
        "private": repo.private,
        "url": _urls(repo.kind, full_name),
        "owner": {"id": str(repo.owner_id)},
    }
    head = _head_sha(repo)
    if head:
        document["headSha"] = head
    return document


def message_for(event: events.Event, repo: Repo | None, *, owner_id: int | None) -> Message | None:
    """The payload for `event`, or None when it has nothing to tell (e.g. repo gone since)."""
    if isinstance(event, events.RepoDeleted):
        return Message(
            action="delete",
            scope="repo",
            repo={
                "type": event.repo_kind,
                "name": event.full_name,
                "id": str(event.repo_id),
                "private": event.private is not False,
                "url": _urls(event.repo_kind, event.full_name),
                "owner": {"id": str(owner_id) if owner_id is not None else ""},
            },
        )
    if repo is None:
        return None  # created or changed, then deleted before fan-out: the delete tells it
    if isinstance(event, events.RepoCreated):
        return Message(action="create", scope="repo", repo=repo_document(repo))
    if isinstance(event, events.RepoUpdated):
        refs = [
            {
                "ref": u["ref"],
                "oldSha": None if u["old"] == ZERO_SHA else u["old"],
                "newSha": None if u["new"] == ZERO_SHA else u["new"],
            }
            for u in event.updates
        ]
        return Message(
            action="update",
            scope="repo.content",
            repo=repo_document(repo),
            extra={"updatedRefs": refs},
        )
    if isinstance(event, events.DiscussionChanged):
        return _discussion_message(event, repo)
    if isinstance(event, events.RepoConfigChanged):
        moved = event.changes.get("name")
        if isinstance(moved, dict) and moved.get("old"):
            # The public hub names the repo by its old name and says where it went.
            return Message(
                action="move",
                scope="repo",
                repo=repo_document(repo, name=str(moved["old"])),
                extra={"movedTo": {"name": str(moved["new"]), "owner": {"id": str(repo.owner_id)}}},
            )
        return Message(action="update", scope="repo.config", repo=repo_document(repo))
    return None


def _discussion_message(event: events.DiscussionChanged, repo: Repo) -> Message | None:
    """WebhookPayload.discussion (and .comment for `discussion.comment`) as _webhooks_payload.py
    reads them; the discussion's state now, not at the time of the event."""
    discussion = Discussion.objects.filter(pk=event.discussion_id, repo=repo).first()
    if discussion is None:
        return None
    web = f"{public_base_url()}/{repo.url_path}/discussions/{discussion.num}"
    document: dict[str, Any] = {
        "id": str(discussion.pk),
        "num": discussion.num,
        "author": {"id": str(discussion.author_id or "")},
        "url": {
            "web": web,
            "api": f"{public_base_url()}/api/{repo.api_path}/discussions/{discussion.num}",
        },
        "title": discussion.title,
        "isPullRequest": discussion.is_pull_request,
        "status": discussion.status,
        "pinned": False,
        "createdAt": discussion.created_at.isoformat(),
    }
    if discussion.is_pull_request:
        document["changes"] = {"base": discussion.base_ref}
        if discussion.merge_commit:
            document["changes"]["mergeCommitId"] = discussion.merge_commit
    extra: dict[str, Any] = {"discussion": document}
    if event.comment_id:
        comment = DiscussionEvent.objects.filter(
            discussion=discussion, event_id=event.comment_id
        ).first()
        if comment is None:
            return None
        hidden = bool(comment.data.get("hidden"))
        extra["comment"] = {
            "id": comment.event_id,
            "author": {"id": str(comment.author_id or "")},
            "hidden": hidden,
            "content": None if hidden else str(comment.data.get("raw", "")),
            "url": {"web": f"{web}#{comment.event_id}"},
        }
    return Message(action=event.action, scope=event.scope, repo=repo_document(repo), extra=extra)


def test_message(*, owner_name: str) -> Message:
    """The "send test event" payload: a content update on a placeholder repo of the owner."""
    name = f"{owner_name}/webhook-test"
    return Message(
        action="update",
        scope="repo.content",
        repo={
            "type": "model",
            "name": name,
            "id": "0",
            "private": False,
            "url": _urls("model", name),
            "owner": {"id": "0"},
            "headSha": ZERO_SHA,
        },
        extra={"updatedRefs": []},
    )
