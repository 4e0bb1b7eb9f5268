"""Repo pages: home, profiles, the new-repo form, and browsing a repo (card, files, history).

Views read the URL, call one selector from repos/pages.py (or a service) and render.
Anything missing, including a private repo the viewer may not see, is the 404 page: never
a 403, so a private repo's existence is not revealed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.errors import (
    BadRequestError,
    ConflictError,
    HubError,
    NotFoundError,
    PermissionDeniedError,
    RepoNotFoundError,
)
from orgs.org_selectors import namespaces_for_create, namespaces_for_transfer
from repos import pages
from repos.access_requests import gate_questions, gate_questions_set, gate_status_get
from repos.commits import branch_create, branch_delete, tag_create, tag_delete
from repos.extensions import panels
from repos.models import Repo, RepoKind
from repos.revisions import raw_tail, split_revision
from repos.selectors import repo_get
from repos.services import (
    like_add,
    like_remove,
    repo_create,
    repo_delete,
    repo_move,
    repo_update_settings,
)
from repos.uploads import Upload, files_upload

KIND_LABEL = {RepoKind.MODEL: "Model", RepoKind.DATASET: "Dataset"}


def _not_found_as_404(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Our NotFoundError types (repo, revision, entry) become the 404 page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFoundError as exc:
            raise Http404(exc.message) from None

    return wrapper


def _repo(request: HttpRequest, kind: str, namespace: str, name: str) -> Repo:
    return repo_get(user=request.user, kind=kind, namespace=namespace, name=name)


def _rev_and_path(
    request: HttpRequest, repo: Repo, *, marker: str, namespace: str, name: str, tail: str | None
) -> tuple[str, str]:
    """(revision, path) from `{rev}/{path}`; the default branch when the URL names none."""
    if not tail:
        return repo.default_branch, ""
    # The repo's own path in the marker, so a namespace called `tree` cannot confuse it.
    raw = raw_tail(request, f"{namespace}/{name}/{marker}")
    return split_revision(repo, decoded_tail=tail, raw=raw)


def _repo_context(
    request: HttpRequest, repo: Repo, *, tab: str, revision: str | None = None, **extra: Any
) -> dict:
    revision = revision or repo.default_branch
    return {
        "repo": repo,
        "header": pages.repo_header_get(repo=repo, viewer=request.user),
        "kind_label": KIND_LABEL[RepoKind(repo.kind)],
        "tab": tab,
        "revision": revision,
        "rev_q": pages.quote_rev(revision),
        **extra,
    }


# --- home and profiles ------------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    models, datasets = pages.home_list(viewer=request.user)
    context = {"models": models, "datasets": datasets, "panels": panels("home", request)}
    return render(request, "home.html", context)


@require_GET
@_not_found_as_404
def profile(request: HttpRequest, namespace: str) -> HttpResponse:
    page = pages.profile_get(viewer=request.user, name=namespace)
    models = [r for r in page.repos if r.kind == RepoKind.MODEL]
    datasets = [r for r in page.repos if r.kind == RepoKind.DATASET]
    context = {"page": page, "models": models, "datasets": datasets}
    if page.namespace.kind == "org":  # --- orgs: an organization's page ---
        from orgs.org_services import org_get
        from orgs.org_views import org_profile_context

        context.update(org_profile_context(request, org_get(name=page.namespace.name)))
        return render(request, "orgs/profile.html", context)
    return render(request, "repos/profile.html", context)


# --- new repo ---------------------------------------------------------------------------------


class RepoNewForm(forms.Form):
    owner = forms.ChoiceField()
    name = forms.CharField(max_length=96, widget=forms.TextInput(attrs={"autofocus": True}))
    kind = forms.ChoiceField(
        label="Type", choices=RepoKind.choices, widget=forms.RadioSelect, initial=RepoKind.MODEL
    )
    visibility = forms.ChoiceField(
        choices=[
            ("public", "Public: anyone can see and clone this repository"),
            ("private", "Private: only you (and the organization's members) can see it"),
            ("default", "The owner's default (an organization may make new repos private)"),
        ],
        initial="default",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, owners: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [(o, o) for o in owners]


@login_required
@require_http_methods(["GET", "POST"])
def repo_new(request: HttpRequest, kind: str) -> HttpResponse:
    # The user's namespace and the orgs where it may create repos (--- orgs ---).
    owners = namespaces_for_create(user=request.user)
    wanted = request.GET.get("owner")
    form = RepoNewForm(
        request.POST or None,
        owners=owners,
        initial={"kind": kind, "owner": wanted if wanted in owners else owners[0]},
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            repo = repo_create(
                actor=request.user,
                namespace=d["owner"],
                name=d["name"].strip(),
                kind=d["kind"],
                private=None if d["visibility"] == "default" else d["visibility"] == "private",
            )
        except (BadRequestError, ConflictError) as exc:
            form.add_error("name", exc.message)
        except PermissionDeniedError as exc:
            form.add_error("owner", exc.message)
        except HubError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(f"/{repo.url_path}")
    return render(request, "repos/new.html", {"form": form, "kind": kind})


# --- browsing a repo --------------------------------------------------------------------------


@require_GET
@_not_found_as_404
def repo_card(request: HttpRequest, kind: str, namespace: str, name: str) -> HttpResponse:
    repo = _repo(request, kind, namespace, name)
    card = pages.repo_card_get(repo=repo)
    context = _repo_context(request, repo, tab="card", page=card)
    # Sidebars from other apps (search's card metadata): repos/extensions.py.
    can_write = context["header"].can_write
    context["panels"] = panels("repo_card", request, repo=repo, can_write=can_write)
    context["gate"] = gate_status_get(repo=repo, viewer=request.user)  # --- orgs: gating ---
    return render(request, "repos/card.html", context)


@require_GET
@_not_found_as_404
def repo_tree(
    request: HttpRequest, kind: str, namespace: str, name: str, tail: str | None = None
) -> HttpResponse:
    return _files_page(request, kind, namespace, name, tail, marker="tree")


@require_GET
@_not_found_as_404
def repo_blob(
    request: HttpRequest, kind: str, namespace: str, name: str, tail: str
) -> HttpResponse:
    return _files_page(request, kind, namespace, name, tail, marker="blob")


def _files_page(
    request: HttpRequest, kind: str, namespace: str, name: str, tail: str | None, *, marker: str
) -> HttpResponse:
    """A folder (`tree`) or a file (`blob`); each redirects to the other for the wrong type."""
    repo = _repo(request, kind, namespace, name)
    revision, path = _rev_and_path(
        request, repo, marker=marker, namespace=namespace, name=name, tail=tail
    )
    page: pages.TreePage | pages.BlobPage
    try:
        if marker == "tree":
            page = pages.repo_tree_get(repo=repo, revision=revision, path=path)
        else:
            page = pages.repo_blob_get(repo=repo, revision=revision, path=path)
    except (NotADirectoryError, IsADirectoryError):
        other = "blob" if marker == "tree" else "tree"
        rev_q = pages.quote_rev(revision)
        return redirect(f"/{repo.url_path}/{other}/{rev_q}/{quote(path, safe='/')}")
    context = _repo_context(
        request, repo, tab="files", revision=revision, page=page, crumbs=_breadcrumbs(page.path)
    )
    return render(request, f"repos/{marker}.html", context)


@require_GET
@_not_found_as_404
def repo_raw(request: HttpRequest, kind: str, namespace: str, name: str, tail: str) -> HttpResponse:
    """The git blob as stored (a pointer file's text for LFS files; /resolve/ has the bytes).

    Text is served as text/plain and anything else as an attachment, always with nosniff,
    so a pushed HTML or SVG file never runs as a page of this site (SECURITY.md 37).
    """
    repo = _repo(request, kind, namespace, name)
    revision, path = _rev_and_path(
        request, repo, marker="raw", namespace=namespace, name=name, tail=tail
    )
    entry, data = pages.repo_raw_get(repo=repo, revision=revision, path=path)
    if pages.decode_text(data) is not None:
        response = HttpResponse(data, content_type="text/plain; charset=utf-8")
    else:
        response = HttpResponse(data, content_type="application/octet-stream")
        response["Content-Disposition"] = _attachment(entry.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_GET
@_not_found_as_404
def repo_commits(
    request: HttpRequest, kind: str, namespace: str, name: str, tail: str | None = None
) -> HttpResponse:
    repo = _repo(request, kind, namespace, name)
    # The history of a revision: the whole tail is the revision (it may contain `/`).
    revision = tail or repo.default_branch
    try:
        number = int(request.GET.get("p", "0"))
    except ValueError:
        number = 0
    page = pages.repo_commit_list(repo=repo, revision=revision, page=number)
    context = _repo_context(request, repo, tab="commits", revision=revision, page=page)
    return render(request, "repos/commits.html", context)


@require_GET
@_not_found_as_404
def repo_commit(
    request: HttpRequest, kind: str, namespace: str, name: str, sha: str
) -> HttpResponse:
    repo = _repo(request, kind, namespace, name)
    page = pages.repo_commit_get(repo=repo, sha=sha)
    return render(
        request, "repos/commit.html", _repo_context(request, repo, tab="commits", page=page)
    )


class RefCreateForm(forms.Form):
    name = forms.CharField(max_length=255)
    start = forms.CharField(label="From", max_length=255, required=False)
    message = forms.CharField(label="Message (annotated tag)", max_length=2000, required=False)


@require_http_methods(["GET", "POST"])
@_not_found_as_404
def repo_refs(request: HttpRequest, kind: str, namespace: str, name: str) -> HttpResponse:
    """Branches and tags; writers create and delete them here (POST `form=...`)."""
    repo = _repo(request, kind, namespace, name)
    branch_form = RefCreateForm(prefix="branch", initial={"start": repo.default_branch})
    tag_form = RefCreateForm(prefix="tag", initial={"start": repo.default_branch})
    if request.method == "POST":
        action = request.POST.get("form", "")
        target = tag_form if "tag" in action else branch_form
        try:
            if action == "delete-branch":
                branch_delete(actor=request.user, repo=repo, branch=request.POST.get("name", ""))
                messages.success(request, "Branch deleted.")
                return redirect(f"/{repo.url_path}/refs")
            if action == "delete-tag":
                tag_delete(actor=request.user, repo=repo, tag=request.POST.get("name", ""))
                messages.success(request, "Tag deleted.")
                return redirect(f"/{repo.url_path}/refs")
            target = RefCreateForm(
                request.POST, prefix="tag" if action == "create-tag" else "branch"
            )
            if action == "create-tag" and target.is_valid():
                d = target.cleaned_data
                tag_create(
                    actor=request.user,
                    repo=repo,
                    tag=d["name"].strip(),
                    revision=d["start"] or None,
                    message=d["message"] or None,
                )
                messages.success(request, f"Tag {d['name']} created.")
                return redirect(f"/{repo.url_path}/refs")
            if action == "create-branch" and target.is_valid():
                d = target.cleaned_data
                branch_create(
                    actor=request.user,
                    repo=repo,
                    branch=d["name"].strip(),
                    starting_point=d["start"] or None,
                )
                messages.success(request, f"Branch {d['name']} created.")
                return redirect(f"/{repo.url_path}/refs")
        except RepoNotFoundError:
            raise
        except HubError as exc:
            if target.is_bound:
                target.add_error(None, exc.message)
            else:  # a delete button: no form to show the error on
                messages.error(request, exc.message)
        if action == "create-tag":
            tag_form = target
        elif action == "create-branch":
            branch_form = target
    page = pages.repo_ref_list(repo=repo)
    context = _repo_context(
        request, repo, tab="refs", page=page, branch_form=branch_form, tag_form=tag_form
    )
    return render(request, "repos/refs.html", context)


def _breadcrumbs(path: str) -> list[tuple[str, str]]:
    """(name, path so far) for each segment of `path`."""
    parts = [p for p in path.split("/") if p]
    return [(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)]


def _attachment(filename: str) -> str:
    ascii_name = filename.encode("ascii", "ignore").decode().replace('"', "") or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


# --- likes and settings -----------------------------------------------------------------------


@login_required
@require_POST
@_not_found_as_404
def repo_like(request: HttpRequest, kind: str, namespace: str, name: str) -> HttpResponse:
    """The like button: POST `action=like|unlike`, back to the repo page."""
    repo = _repo(request, kind, namespace, name)
    if request.POST.get("action") == "unlike":
        like_remove(actor=request.user, repo=repo)
    else:
        like_add(actor=request.user, repo=repo)
    return redirect(f"/{repo.url_path}")


class RepoVisibilityForm(forms.Form):
    visibility = forms.ChoiceField(
        choices=[("public", "Public"), ("private", "Private")], widget=forms.RadioSelect
    )
    gated = forms.ChoiceField(
        label="Gated access",
        choices=[
            ("off", "Off: anyone who can see the repo downloads its files"),
            ("auto", "Automatic approval: users request access and get it at once"),
            ("manual", "Manual approval: you review each request"),
        ],
        widget=forms.RadioSelect,
    )


class RepoRenameForm(forms.Form):
    new_id = forms.CharField(label="New name (namespace/name)", max_length=140)


class RepoDeleteForm(forms.Form):
    confirm = forms.CharField(label="Type the repo's full name to confirm", max_length=140)


@login_required
@require_http_methods(["GET", "POST"])
@_not_found_as_404
def repo_settings(request: HttpRequest, kind: str, namespace: str, name: str) -> HttpResponse:
    """Visibility, gating, rename/transfer and delete, for the repo's admins."""
    repo = _repo(request, kind, namespace, name)
    header = pages.repo_header_get(repo=repo, viewer=request.user)
    if not header.can_admin:
        raise Http404("Not found")  # readers see no settings page, as on the public hub
    visibility = RepoVisibilityForm(
        initial={
            "visibility": "private" if repo.private else "public",
            "gated": repo.gated or "off",
        }
    )
    rename = RepoRenameForm(initial={"new_id": repo.full_name})
    delete = RepoDeleteForm()
    action = request.POST.get("form")
    try:
        if action == "visibility":
            visibility = RepoVisibilityForm(request.POST)
            if visibility.is_valid():
                d = visibility.cleaned_data
                repo_update_settings(
                    actor=request.user,
                    repo=repo,
                    private=d["visibility"] == "private",
                    gated=False if d["gated"] == "off" else d["gated"],
                )
                messages.success(request, "Settings saved.")
                return redirect(f"/{repo.url_path}/settings")
        elif action == "questions":  # --- orgs and access requests: gate questions ---
            lines = request.POST.get("questions", "").splitlines()
            gate_questions_set(actor=request.user, repo=repo, questions=lines)
            messages.success(request, "Access request questions saved.")
            return redirect(f"/{repo.url_path}/settings")
        elif action == "rename":
            rename = RepoRenameForm(request.POST)
            if rename.is_valid():
                to_ns, sep, to_name = rename.cleaned_data["new_id"].strip().partition("/")
                if not sep:
                    raise BadRequestError("Use the form namespace/name.")
                moved = repo_move(
                    actor=request.user, repo=repo, to_namespace=to_ns, to_name=to_name
                )
                messages.success(
                    request, f"Renamed; the old name now redirects to {moved.full_name}."
                )
                return redirect(f"/{moved.url_path}/settings")
        elif action == "delete":
            delete = RepoDeleteForm(request.POST)
            if delete.is_valid():
                if delete.cleaned_data["confirm"].strip() != repo.full_name:
                    delete.add_error("confirm", f"Type {repo.full_name} to confirm.")
                else:
                    owner = repo.owner.name
                    repo_delete(actor=request.user, repo=repo)
                    messages.success(request, f"Deleted {repo.full_name}.")
                    return redirect(f"/{owner}")
    except HubError as exc:
        target = {"rename": rename, "delete": delete}.get(action or "", visibility)
        target.add_error(None, exc.message)
    context = _repo_context(
        request,
        repo,
        tab="settings",
        visibility_form=visibility,
        rename_form=rename,
        delete_form=delete,
        gate_questions="\n".join(gate_questions(repo=repo)),
        transfer_targets=namespaces_for_transfer(user=request.user),  # type: ignore[arg-type]
    )
    return render(request, "repos/settings.html", context)


class UploadForm(forms.Form):
    branch = forms.CharField(max_length=255)
    folder = forms.CharField(
        label="Into folder", max_length=1000, required=False, help_text="Empty: the repo root."
    )
    summary = forms.CharField(label="Commit message", max_length=1000)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


@login_required
@require_http_methods(["GET", "POST"])
@_not_found_as_404
def repo_upload(request: HttpRequest, kind: str, namespace: str, name: str) -> HttpResponse:
    """Upload files in the browser: one commit through the commit service."""
    repo = _repo(request, kind, namespace, name)
    header = pages.repo_header_get(repo=repo, viewer=request.user)
    if not header.can_write:
        raise Http404("Not found")
    form = UploadForm(
        request.POST or None,
        initial={
            "branch": request.GET.get("branch") or repo.default_branch,
            "folder": request.GET.get("folder", ""),
            "summary": "Upload files",
        },
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        folder = d["folder"].strip().strip("/")
        files = request.FILES.getlist("files")
        uploads = [
            Upload(path=f"{folder}/{f.name}" if folder else f.name, size=f.size, file=f)
            for f in files
        ]
        try:
            result = files_upload(
                actor=request.user,
                repo=repo,
                branch=d["branch"].strip(),
                uploads=uploads,
                summary=d["summary"],
                description=d["description"],
            )
        except HubError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Committed {result.oid[:7]}.")
            rev_q = pages.quote_rev(d["branch"].strip())
            return redirect(f"/{repo.url_path}/tree/{rev_q}/{quote(folder, safe='/')}".rstrip("/"))
    context = _repo_context(request, repo, tab="files", form=form)
    return render(request, "repos/upload.html", context)
