"""Likes: like/unlike a repo, a user's likes, a repo's likers (all paginated with `Link`)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import NotFoundError
from repos.api.common import api_repo, hf_date, kind_from_plural, next_link
from repos.api.listing import page_size
from repos.listing import decode_cursor, encode_cursor
from repos.models import Like
from repos.selectors import like_list_for_repo, like_list_for_user, user_exists
from repos.services import like_add, like_remove


def _page(request: Request, likes: list[Like]) -> tuple[list[Like], str | None]:
    """Keyset page over likes ordered newest first; the cursor is (created_at, pk)."""
    size = page_size()
    rows = likes[: size + 1]
    if len(rows) <= size:
        return rows, None
    last = rows[size - 1]
    return rows[:size], next_link(request, cursor=encode_cursor(last.created_at, last.pk))


def _after_cursor(request: Request, qs: QuerySet[Like]) -> QuerySet[Like]:
    cursor = request.query_params.get("cursor")
    if not cursor:
        return qs
    created_at, pk = decode_cursor(cursor, "created_at")
    return qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))


class RepoLikeApi(APIView):
    """POST /api/{T}/{repo}/like (older clients' like(), the UI); DELETE: HfApi.unlike."""

    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
        like_add(actor=request.user, repo=repo)
        return Response({})

    def delete(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
        like_remove(actor=request.user, repo=repo)
        return Response({})


class UserLikesApi(APIView):
    """HfApi.list_liked_repos -> GET /api/users/{user}/likes: [{createdAt, repo{name, type}}]."""

    def get(self, request: Request, username: str) -> Response:
        if not user_exists(username=username):
            raise NotFoundError(f"User {username} not found.")
        qs = _after_cursor(request, like_list_for_user(viewer=request.user, username=username))
        likes, link = _page(request, list(qs[: page_size() + 1]))
        response = Response(
            [
                {
                    "createdAt": hf_date(like.created_at),
                    "repo": {"name": like.repo.full_name, "type": like.repo.kind},
                }
                for like in likes
            ]
        )
        if link:
            response["Link"] = link
        return response


class RepoLikersApi(APIView):
    """HfApi.list_repo_likers -> GET /api/{T}/{repo}/likers: [{user, fullname, avatarUrl}]."""

    def get(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
        qs = _after_cursor(request, like_list_for_repo(repo=repo))
        likes, link = _page(request, list(qs[: page_size() + 1]))
        response = Response(
            [
                {"user": like.user.username, "fullname": like.user.fullname, "avatarUrl": ""}
                for like in likes
            ]
        )
        if link:
            response["Link"] = link
        return response
