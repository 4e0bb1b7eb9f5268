"""Discussions and pull requests as huggingface_hub speaks them (hf-api-contract.md 1.8).

HfApi.get_repo_discussions      GET  /api/{T}/{repo}/discussions?p=&type=&status=&author=
HfApi.create_discussion / create_pull_request
                                POST /api/{T}/{repo}/discussions
HfApi.get_discussion_details    GET  /api/{T}/{repo}/discussions/{num}?diff=1
HfApi.comment_discussion        POST …/{num}/comment         -> {"newMessage": event}
HfApi.rename_discussion         POST …/{num}/title           -> {"newTitle": event}
HfApi.change_discussion_status  POST …/{num}/status          -> {"newStatus": event}
HfApi.merge_pull_request        POST …/{num}/merge
HfApi.edit_discussion_comment   POST …/{num}/comment/{id}/edit -> {"updatedComment": event}
HfApi.hide_discussion_comment   POST …/{num}/comment/{id}/hide -> {"updatedComment": event}
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import BadRequestError
from repos.api.common import api_repo, hf_date, kind_from_plural
from repos.discussions import (
    comment_edit,
    comment_hide,
    discussion_comment,
    discussion_create,
    discussion_events,
    discussion_get,
    discussion_list,
    discussion_rename,
    discussion_set_status,
    discussion_url,
    pull_request_merge,
    pull_state,
)
from repos.markdown import render_markdown
from repos.models import Discussion, DiscussionEvent, DiscussionEventType, Repo


def _user(user: Any) -> dict[str, Any]:
    if user is None:
        return {"name": "deleted", "type": "user"}
    return {"name": user.username, "fullname": user.fullname, "avatarUrl": "", "type": "user"}


def event_json(event: DiscussionEvent) -> dict[str, Any]:
    """One timeline entry; comments in the shape community.py deserialize_event reads."""
    data: dict[str, Any] = dict(event.data or {})
    if event.type == DiscussionEventType.COMMENT:
        raw = "" if data.get("hidden") else str(data.get("raw", ""))
        history = data.get("history", [])
        data = {
            "edited": bool(data.get("edited")),
            "hidden": bool(data.get("hidden")),
            "numEdits": len(history),
            "latest": {
                "raw": raw,
                "html": render_markdown(raw) if raw else "",
                "updatedAt": hf_date(event.updated_at),
                "author": _user(event.author),
            },
            "history": [{"raw": h} for h in history] if not data.get("hidden") else [],
        }
    elif event.type == DiscussionEventType.COMMIT:
        data = {"subject": data.get("subject", ""), "oid": data.get("oid", "")}
    return {
        "id": event.event_id,
        "type": event.type,
        "createdAt": hf_date(event.created_at),
        "author": _user(event.author),
        "data": data,
    }


def discussion_json(discussion: Discussion, repo: Repo) -> dict[str, Any]:
    return {
        "num": discussion.num,
        "title": discussion.title,
        "status": discussion.status,
        "createdAt": hf_date(discussion.created_at),
        "author": _user(discussion.author),
        "repo": {"name": repo.full_name, "type": repo.kind},
        "isPullRequest": discussion.is_pull_request,
        "pinned": False,
        "url": discussion_url(discussion),
    }


def _repo(request: Request, plural: str, namespace: str, name: str) -> Repo:
    return api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)


def _discussion(request: Request, plural: str, namespace: str, name: str, num: str) -> Discussion:
    repo = _repo(request, plural, namespace, name)
    return discussion_get(viewer=request.user, repo=repo, num=num)


def _validated(serializer: serializers.Serializer, request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise BadRequestError("The body must be a JSON object.")
    if not serializer.is_valid():
        field, errors = next(iter(serializer.errors.items()))
        raise BadRequestError(f"{field}: {errors[0]}")
    return dict(serializer.validated_data)


class DiscussionListApi(APIView):
    """GET: a page of discussions, newest first; POST: open a discussion or pull request."""

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=1000, trim_whitespace=True)
        description = serializers.CharField(
            required=False, allow_blank=True, default="", trim_whitespace=False
        )
        pullRequest = serializers.BooleanField(required=False, default=False)

    def get(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = _repo(request, plural, namespace, name)
        try:
            page = int(request.query_params.get("p", "0"))
        except ValueError:
            raise BadRequestError("p must be a page number (0 or more).") from None
        result = discussion_list(
            viewer=request.user,
            repo=repo,
            kind=request.query_params.get("type") or "all",
            status=request.query_params.get("status") or "all",
            author=request.query_params.get("author") or None,
            search=request.query_params.get("search") or None,
            page=page,
        )
        return Response(
            {
                "discussions": [discussion_json(d, repo) for d in result.items],
                "count": result.count,
                "start": result.start,
                "numClosedDiscussions": None,
            }
        )

    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = _repo(request, plural, namespace, name)
        d = _validated(self.InputSerializer(data=request.data), request)
        discussion = discussion_create(
            actor=request.user,
            repo=repo,
            title=d["title"],
            description=d["description"],
            pull_request=d["pullRequest"],
        )
        return Response({"num": discussion.num, "url": discussion_url(discussion)})


class DiscussionDetailApi(APIView):
    """GET the discussion with its events; PRs add changes.base, conflicts and the diff."""

    def get(self, request: Request, plural: str, namespace: str, name: str, num: str) -> Response:
        discussion = _discussion(request, plural, namespace, name, num)
        repo = discussion.repo
        body = discussion_json(discussion, repo)
        body["events"] = [event_json(e) for e in discussion_events(discussion=discussion)]
        if discussion.is_pull_request:
            state = pull_state(
                discussion=discussion, with_diff=request.query_params.get("diff") in ("1", "true")
            )
            changes: dict[str, Any] = {"base": discussion.base_ref}
            if discussion.merge_commit:
                changes["mergeCommitId"] = discussion.merge_commit
            body["changes"] = changes
            body["filesWithConflicts"] = list(state.conflicts)
            body["headSha"] = state.head
            if state.diff is not None:
                body["diff"] = state.diff
        return Response(body)


class DiscussionCommentApi(APIView):
    class InputSerializer(serializers.Serializer):
        comment = serializers.CharField(trim_whitespace=False)

    def post(self, request: Request, plural: str, namespace: str, name: str, num: str) -> Response:
        discussion = _discussion(request, plural, namespace, name, num)
        d = _validated(self.InputSerializer(data=request.data), request)
        event = discussion_comment(actor=request.user, discussion=discussion, comment=d["comment"])
        return Response({"newMessage": event_json(event)})


class DiscussionTitleApi(APIView):
    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=1000)

    def post(self, request: Request, plural: str, namespace: str, name: str, num: str) -> Response:
        discussion = _discussion(request, plural, namespace, name, num)
        d = _validated(self.InputSerializer(data=request.data), request)
        event = discussion_rename(actor=request.user, discussion=discussion, title=d["title"])
        return Response({"newTitle": event_json(event)})


class DiscussionStatusApi(APIView):
    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["open", "closed"])
        comment = serializers.CharField(required=False, allow_blank=True, default="")

    def post(self, request: Request, plural: str, namespace: str, name: str, num: str) -> Response:
        discussion = _discussion(request, plural, namespace, name, num)
        d = _validated(self.InputSerializer(data=request.data), request)
        event = discussion_set_status(
            actor=request.user, discussion=discussion, status=d["status"], comment=d["comment"]
        )
        return Response({"newStatus": event_json(event)})


class DiscussionMergeApi(APIView):
    def post(self, request: Request, plural: str, namespace: str, name: str, num: str) -> Response:
        discussion = _discussion(request, plural, namespace, name, num)
        data = request.data if isinstance(request.data, dict) else {}
        comment = data.get("comment") if isinstance(data.get("comment"), str) else ""
        oid = pull_request_merge(actor=request.user, discussion=discussion, comment=comment or "")
        return Response({"mergeCommitId": oid, "status": "merged"})


class DiscussionCommentEditApi(APIView):
    class InputSerializer(serializers.Serializer):
        content = serializers.CharField(trim_whitespace=False)

    def post(
        self, request: Request, plural: str, namespace: str, name: str, num: str, comment_id: str
    ) -> Response:
        discussion = _discussion(request, plural, namespace, name, num)
        d = _validated(self.InputSerializer(data=request.data), request)
        event = comment_edit(
            actor=request.user, discussion=discussion, comment_id=comment_id, content=d["content"]
        )
        return Response({"updatedComment": event_json(event)})


class DiscussionCommentHideApi(APIView):
    def post(
        self, request: Request, plural: str, namespace: str, name: str, num: str, comment_id: str
    ) -> Response:
        discussion = _discussion(request, plural, namespace, name, num)
        event = comment_hide(actor=request.user, discussion=discussion, comment_id=comment_id)
        return Response({"updatedComment": event_json(event)})
