"""Repo info, trees, paths-info, refs and commit lists: the read side of the HF API."""

from __future__ import annotations

import html
import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods

from common.errors import BadRequestError, HubError
from repos.api.common import api_repo, hf_date, hf_errors, kind_from_plural, next_link
from repos.cards import parse_front_matter
from repos.extensions import info_extras
from repos.files import FileEntry, file_entry, last_commits, list_entries
from repos.git.store import git_store
from repos.listing import RepoStats, repo_stats
from repos.models import Repo, RepoKind
from repos.revisions import raw_tail, split_revision

TREE_PAGE = 1000
TREE_PAGE_EXPANDED = 50
COMMITS_PAGE = 50
MAX_PATHS_INFO = 1000
MAX_README_BYTES = 5 * 1024 * 1024


def resolve_commit(repo: Repo, revision: str | None) -> str:
    """The 40-hex commit a revision names (default branch when None); RevisionNotFoundError."""
    return git_store().resolve(repo.storage_key, revision or repo.default_branch)


def _lfs_json(entry: FileEntry, key: str) -> dict[str, Any] | None:
    if entry.lfs is None:
        return None
    return {key: entry.lfs.oid, "size": entry.lfs.size, "pointerSize": entry.size}


def sibling_json(entry: FileEntry, *, blobs: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"rfilename": entry.path}
    if blobs:
        item["blobId"] = entry.oid
        item["size"] = entry.real_size
        lfs = _lfs_json(entry, "sha256")  # `sha256` in siblings, `oid` in tree entries
        if lfs is not None:
            item["lfs"] = lfs
    return item


def tree_json(entry: FileEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": entry.type,
        "oid": entry.oid,
        "size": entry.real_size if entry.type == "file" else 0,
        "path": entry.path,
    }
    lfs = _lfs_json(entry, "oid")
    if lfs is not None:
        item["lfs"] = lfs
    return item


def repo_files(repo: Repo, *, commit: str) -> list[FileEntry]:
    return [e for e in list_entries(repo, commit=commit, recursive=True) if e.type == "file"]


def card_data(repo: Repo, *, commit: str) -> dict[str, Any]:
    """The README's YAML front matter as a dict; {} when absent or invalid (never raises)."""
    readme = file_entry(repo, commit=commit, path="README.md")
    if readme is None or readme.lfs is not None or readme.size > MAX_README_BYTES:
        return {}
    text = git_store().read_blob(repo.storage_key, readme.oid).decode("utf-8", "replace")
    return parse_front_matter(text)[0]


def repo_summary_json(repo: Repo, stats: RepoStats) -> dict[str, Any]:
    """Fields of ModelInfo/DatasetInfo known without reading git."""
    item: dict[str, Any] = {
        "_id": str(repo.pk),
        "id": repo.full_name,
        "author": repo.owner.name,
        "private": repo.private,
        "gated": repo.gated or False,
        "disabled": False,
        "downloads": stats.downloads.recent,
        "downloadsAllTime": stats.downloads.all_time,
        "likes": stats.likes,
        "trendingScore": stats.trending_score,
        "lastModified": hf_date(repo.last_modified),
        "createdAt": hf_date(repo.created_at),
        "tags": [],  # from the card index: search's info provider (repos/extensions.py)
    }
    if repo.kind == RepoKind.MODEL:
        item["modelId"] = repo.full_name
    else:
        item["description"] = repo.description
    return item


def repo_info_json(repo: Repo, *, commit: str, blobs: bool) -> dict[str, Any]:
    """ModelInfo/DatasetInfo for a revision (only `id` is required by the client)."""
    data = repo_summary_json(repo, repo_stats(repos=[repo])[repo.pk])
    files = repo_files(repo, commit=commit)
    card = card_data(repo, commit=commit)
    data.update(
        sha=commit,
        lastModified=hf_date(git_store().commit(repo.storage_key, commit).commit_time),
        cardData=card,
        siblings=[sibling_json(e, blobs=blobs) for e in files],
        usedStorage=sum(e.real_size for e in files),
    )
    # tags, library_name, pipeline_tag, baseModels...: derived by registered providers.
    data.update(info_extras([repo], commit=commit)[repo.pk])
    return data


def _info(
    request: HttpRequest, plural: str, namespace: str, name: str, revision: str | None
) -> HttpResponse:
    repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
    commit = resolve_commit(repo, revision)
    blobs = request.GET.get("blobs", "").lower() in ("1", "true")
    return JsonResponse(repo_info_json(repo, commit=commit, blobs=blobs))


@hf_errors
@require_http_methods(["GET", "HEAD"])
def repo_info(request: HttpRequest, plural: str, namespace: str, name: str) -> HttpResponse:
    """huggingface_hub model_info/dataset_info/repo_info -> GET /api/{T}/{repo}."""
    return _info(request, plural, namespace, name, None)


@hf_errors
@require_http_methods(["GET", "HEAD"])
def repo_info_revision(
    request: HttpRequest, plural: str, namespace: str, name: str, revision: str
) -> HttpResponse:
    """repo_info(revision=...) -> GET /api/{T}/{repo}/revision/{quote(rev, safe="")}."""
    return _info(request, plural, namespace, name, revision)


def _paginate(request: HttpRequest, items: list[Any], *, offset: int, size: int) -> JsonResponse:
    response = JsonResponse(items[offset : offset + size], safe=False)
    if offset + size < len(items):
        response["Link"] = next_link(request, cursor=str(offset + size))
    return response


def _offset(request: HttpRequest) -> int:
    raw = request.GET.get("cursor", "0")
    if not raw.isdigit():
        raise BadRequestError("Invalid cursor.")
    return int(raw)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


@hf_errors
@require_http_methods(["GET"])
def repo_tree(
    request: HttpRequest, plural: str, namespace: str, name: str, tail: str
) -> HttpResponse:
    """list_repo_tree -> GET /api/{T}/{repo}/tree/{rev}[/{path}]?recursive=&expand=."""
    repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
    revision, path = split_revision(repo, decoded_tail=tail, raw=raw_tail(request, "tree"))
    commit = resolve_commit(repo, revision)
    entries = list_entries(
        repo, commit=commit, path=path, recursive=_truthy(request.GET.get("recursive"))
    )
    expand = _truthy(request.GET.get("expand"))
    offset = _offset(request)
    size = TREE_PAGE_EXPANDED if expand else TREE_PAGE
    items = [tree_json(e) for e in entries]
    if expand:
        page = items[offset : offset + size]
        _add_last_commits(repo, commit, page)
    return _paginate(request, items, offset=offset, size=size)


def _add_last_commits(repo: Repo, commit: str, items: list[dict[str, Any]]) -> None:
    found = last_commits(repo, commit=commit, paths=[i["path"] for i in items])
    for item in items:
        last = found.get(item["path"])
        if last:
            item["lastCommit"] = {"id": last[0], "title": last[1], "date": hf_date(last[2])}


@hf_errors
@require_http_methods(["POST"])
def paths_info(
    request: HttpRequest, plural: str, namespace: str, name: str, revision: str
) -> HttpResponse:
    """get_paths_info -> POST /api/{T}/{repo}/paths-info/{rev} (form: paths=..., expand=)."""
    repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
    commit = resolve_commit(repo, revision)
    paths = request.POST.getlist("paths")
    if not paths and request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise BadRequestError("Invalid JSON body.") from None
        paths = body.get("paths") or []
        expand = bool(body.get("expand"))
    else:
        expand = _truthy(request.POST.get("expand"))
    if len(paths) > MAX_PATHS_INFO:
        raise BadRequestError(f"At most {MAX_PATHS_INFO} paths per request.")
    items = []
    for p in dict.fromkeys(str(p).strip("/") for p in paths):
        entry = file_entry(repo, commit=commit, path=p)
        if entry is not None:  # missing paths are omitted, not an error (contract 1.4)
            items.append(tree_json(entry))
    if expand:
        _add_last_commits(repo, commit, items)
    return JsonResponse(items, safe=False)


@hf_errors
@require_http_methods(["GET"])
def repo_refs(request: HttpRequest, plural: str, namespace: str, name: str) -> HttpResponse:
    """list_repo_refs -> GET /api/{T}/{repo}/refs[?include_prs=1]."""
    repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
    store = git_store()
    out: dict[str, list[dict[str, str]]] = {"branches": [], "converts": [], "tags": []}
    prs: list[dict[str, str]] = []
    for ref, sha in sorted(store.refs(repo.storage_key).items()):
        target = store.resolve(repo.storage_key, ref) if ref.startswith("refs/tags/") else sha
        for prefix, key in (
            ("refs/heads/", "branches"),
            ("refs/tags/", "tags"),
            ("refs/convert/", "converts"),
        ):
            if ref.startswith(prefix):
                out[key].append({"name": ref[len(prefix) :], "ref": ref, "targetCommit": target})
        if ref.startswith("refs/pr/"):
            prs.append({"name": ref[len("refs/pr/") :], "ref": ref, "targetCommit": sha})
    body: dict[str, Any] = dict(out)
    if _truthy(request.GET.get("include_prs")):
        body["pullRequests"] = prs
    return JsonResponse(body)


@hf_errors
@require_http_methods(["GET"])
def repo_commits(
    request: HttpRequest, plural: str, namespace: str, name: str, revision: str
) -> HttpResponse:
    """list_repo_commits -> GET /api/{T}/{repo}/commits/{rev}, newest first, paginated."""
    repo = api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
    commit = resolve_commit(repo, revision)
    offset = _offset(request)
    page, has_more = git_store().log(repo.storage_key, commit, offset=offset, limit=COMMITS_PAGE)
    formatted = "formatted" in request.GET.getlist("expand[]") + request.GET.getlist("expand")
    items = []
    for c in page:
        body = c.message.strip()
        title, _, rest = body.partition("\n")
        item: dict[str, Any] = {
            "id": c.sha,
            "title": title,
            "message": rest.strip(),
            "date": hf_date(c.commit_time),
            "authors": [{"user": c.author_name}],
        }
        if formatted:
            item["formatted"] = {"title": html.escape(title), "message": html.escape(rest.strip())}
        items.append(item)
    response = JsonResponse(items, safe=False)
    if has_more:
        response["Link"] = next_link(request, cursor=str(offset + COMMITS_PAGE))
    return response


@hf_errors
def xet_token(
    request: HttpRequest, plural: str, namespace: str, name: str, **_: str
) -> HttpResponse:
    """`xet-read-token` / `xet-write-token`: a clear refusal instead of a bare 404.

    huggingface_hub >= 1.20 with hf_xet installed uploads through Xet unconditionally
    (contract section 4); this hub stores large files with classic Git LFS only.
    """
    api_repo(request, kind=kind_from_plural(plural), namespace=namespace, name=name)
    raise HubError(
        "This hub stores large files with Git LFS and does not support Xet. Set "
        "HF_HUB_DISABLE_XET=1 (or uninstall hf_xet) next to HF_ENDPOINT and retry.",
        status=501,
    )
