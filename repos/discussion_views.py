"""The Community tab: discussions and pull requests in the browser.

/{repo}/discussions              list with filters (type, status, search), "New discussion"
/{repo}/discussions/new          the form (title, description)
/{repo}/discussions/{num}        the conversation, a comment form, close/reopen, merge (PRs)
/{repo}/discussions/{num}/files  a PR's changed files and diff

Same services as the API (repos/discussions.py); a private repo is the 404 page for outsiders.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from common.errors import HubError, RepoNotFoundError
from orgs.permissions import Action, can, can_discuss
from repos.discussions import (
    discussion_comment,
    discussion_counts,
    discussion_create,
    discussion_events,
    discussion_get,
    discussion_list,
    discussion_rename,
    discussion_set_status,
    pull_request_merge,
    pull_state,
)
from repos.markdown import render_markdown
from repos.models import Discussion, DiscussionEvent, Repo
from repos.pulls import pr_changed_files
from repos.views import _not_found_as_404, _repo, _repo_context


class DiscussionNewForm(forms.Form):
    title = forms.CharField(min_length=3, max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), required=False)
    pull_request = forms.BooleanField(
        label="Open a pull request (an empty draft with its own refs/pr/N ref)", required=False
    )


class CommentForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), max_length=65536)


def _community_context(request: HttpRequest, repo: Repo, **extra: Any) -> dict[str, Any]:
    return _repo_context(
        request,
        repo,
        tab="community",
        counts=discussion_counts(repo=repo),
        may_discuss=can_discuss(request.user, repo),
        **extra,
    )


@require_http_methods(["GET"])
@_not_found_as_404
def discussion_list_page(
    request: HttpRequest, kind: str, namespace: str, name: str
) -> HttpResponse:
    repo = _repo(request, kind, namespace, name)
    kind_filter = request.GET.get("type", "all")
    status = request.GET.get("status", "open")
    if kind_filter not in ("all", "discussion", "pull_request"):
        kind_filter = "all"
    if status not in ("all", "open", "closed"):
        status = "open"
    try:
        number = max(int(request.GET.get("p", "0")), 0)
    except ValueError:
        number = 0
    search = request.GET.get("search", "").strip()
    page = discussion_list(
        viewer=request.user,
        repo=repo,
        kind=kind_filter,
        status=status,
        search=search or None,
        page=number,
    )
    context = _community_context(
        request,
        repo,
        page=page,
        page_number=number,
        has_more=page.start + len(page.items) < page.count,
        filter_type=kind_filter,
        filter_status=status,
        search=search,
    )
    return render(request, "repos/discussions.html", context)


@require_http_methods(["GET", "POST"])
@_not_found_as_404
def discussion_new_page(request: HttpRequest, kind: str, namespace: str, name: str) -> HttpResponse:
    repo = _repo(request, kind, namespace, name)
    if not request.user.is_authenticated:
        return redirect(f"/login?next=/{repo.url_path}/discussions/new")
    form = DiscussionNewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            discussion = discussion_create(
                actor=request.user,
                repo=repo,
                title=d["title"],
                description=d["description"],
                pull_request=d["pull_request"],
            )
        except RepoNotFoundError:
            raise
        except HubError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(f"/{repo.url_path}/discussions/{discussion.num}")
    return render(
        request, "repos/discussion_new.html", _community_context(request, repo, form=form)
    )


def _act(request: HttpRequest, discussion: Discussion) -> str | None:
    """Run the POSTed action; the message to show, or None when the form holds the error."""
    action = request.POST.get("action", "comment")
    user = request.user
    if action == "comment":
        discussion_comment(
            actor=user, discussion=discussion, comment=request.POST.get("comment", "")
        )
        return "Comment added."
    if action in ("close", "reopen"):
        status = "closed" if action == "close" else "open"
        discussion_set_status(
            actor=user,
            discussion=discussion,
            status=status,
            comment=request.POST.get("comment", ""),
        )
        return "Closed." if status == "closed" else "Reopened."
    if action == "rename":
        discussion_rename(actor=user, discussion=discussion, title=request.POST.get("title", ""))
        return "Title changed."
    if action == "merge":
        pull_request_merge(
            actor=user, discussion=discussion, comment=request.POST.get("comment", "")
        )
        return "Merged."
    return "Nothing to do."


@require_http_methods(["GET", "POST"])
@_not_found_as_404
def discussion_page(
    request: HttpRequest, kind: str, namespace: str, name: str, num: str
) -> HttpResponse:
    repo = _repo(request, kind, namespace, name)
    discussion = discussion_get(viewer=request.user, repo=repo, num=num)
    form = CommentForm()
    if request.method == "POST":
        try:
            done = _act(request, discussion)
        except RepoNotFoundError:
            raise
        except HubError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done or "")
        return redirect(f"/{repo.url_path}/discussions/{discussion.num}")
    return render(
        request, "repos/discussion.html", _discussion_context(request, repo, discussion, form=form)
    )


def _with_html(events: list[DiscussionEvent]) -> list[DiscussionEvent]:
    """Comments rendered as Markdown (sanitized) for the page, as the public hub shows them."""
    for event in events:
        raw = event.data.get("raw") if event.type == "comment" else None
        event.html = render_markdown(raw) if raw and not event.data.get("hidden") else ""  # type: ignore[attr-defined]
    return events


def _discussion_context(
    request: HttpRequest, repo: Repo, discussion: Discussion, **extra: Any
) -> dict[str, Any]:
    user = request.user
    is_writer = can(user, Action.WRITE, repo)
    is_author = user.is_authenticated and discussion.author_id == user.pk
    state = (
        pull_state(discussion=discussion, with_diff=False) if discussion.is_pull_request else None
    )
    return _community_context(
        request,
        repo,
        discussion=discussion,
        events=_with_html(discussion_events(discussion=discussion)),
        state=state,
        may_manage=is_writer or (is_author and can_discuss(user, repo)),
        may_merge=is_writer and discussion.is_pull_request and discussion.is_open,
        **extra,
    )


@require_http_methods(["GET"])
@_not_found_as_404
def discussion_files_page(
    request: HttpRequest, kind: str, namespace: str, name: str, num: str
) -> HttpResponse:
    repo = _repo(request, kind, namespace, name)
    discussion = discussion_get(viewer=request.user, repo=repo, num=num)
    context = _discussion_context(request, repo, discussion, files_tab=True)
    state = (
        pull_state(discussion=discussion, with_diff=True) if discussion.is_pull_request else None
    )
    files = []
    if state is not None and state.head and state.start:
        files = pr_changed_files(repo, base=state.start, head=state.head)
    context.update(state=state, files=files)
    return render(request, "repos/discussion.html", context)
