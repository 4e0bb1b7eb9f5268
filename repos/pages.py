"""Reads for the HTML pages: everything a template shows, fetched up front.

Templates trigger no queries and no git reads; each page asks one selector here, which
raises NotFoundError types (RepoNotFound, RevisionNotFound, EntryNotFound) for anything
missing, so the views answer those with the 404 page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from django.contrib.auth.models import AnonymousUser

from common.errors import EntryNotFoundError, NotFoundError
from orgs.models import Namespace, User
from orgs.selectors import namespace_get
from repos.files import FileEntry, list_entries
from repos.git.store import CommitInfo, TreeEntry, git_store
from repos.lfs.pointer import Pointer, parse_pointer
from repos.markdown import render_card
from repos.models import Repo
from repos.selectors import repo_list_for_owner, repo_list_recent

COMMITS_PER_PAGE = 30
MAX_COMMIT_PAGE = 10_000
# The file view shows text up to this size; past it, only the raw and download links.
MAX_SHOWN_TEXT_BYTES = 512 * 1024
MAX_CARD_BYTES = 1024 * 1024
README = "README.md"


def quote_rev(revision: str) -> str:
    """A revision as one URL segment: `feature/x` -> `feature%2Fx` (contract 0.1)."""
    return quote(revision, safe="")


@dataclass(frozen=True)
class FileRow:
    entry: FileEntry

    @property
    def name(self) -> str:
        return self.entry.path.rpartition("/")[2]

    @property
    def is_dir(self) -> bool:
        return self.entry.type == "directory"


@dataclass(frozen=True)
class Commit:
    info: CommitInfo

    @property
    def date(self) -> datetime:
        return datetime.fromtimestamp(self.info.author_time, tz=UTC)

    @property
    def body(self) -> str:
        """The message after its title line."""
        return self.info.message.strip().partition("\n")[2].strip()


@dataclass(frozen=True)
class Ref:
    name: str
    commit: Commit
    is_default: bool = False


@dataclass(frozen=True)
class TreePage:
    revision: str
    commit: Commit
    path: str
    rows: list[FileRow]
    branches: list[str]

    @property
    def parent(self) -> str:
        return self.path.rpartition("/")[0]


@dataclass(frozen=True)
class BlobPage:
    revision: str
    commit: Commit
    path: str
    size: int
    lfs: Pointer | None
    is_symlink: bool
    text: str | None  # None when binary or too large to show
    too_large: bool
    branches: list[str]

    @property
    def lines(self) -> list[str]:
        return (self.text or "").splitlines()


@dataclass(frozen=True)
class CardPage:
    revision: str
    commit: Commit
    card_html: str | None
    branches: list[str]


@dataclass(frozen=True)
class CommitsPage:
    revision: str
    commits: list[Commit]
    page: int
    has_more: bool
    branches: list[str]


@dataclass(frozen=True)
class CommitPage:
    commit: Commit
    changes: list[tuple[str, str]]


@dataclass(frozen=True)
class RefsPage:
    branches: list[Ref]
    tags: list[Ref]


@dataclass(frozen=True)
class Profile:
    namespace: Namespace
    user: User | None
    repos: list[Repo] = field(default_factory=list)


def _commit_at(repo: Repo, revision: str) -> Commit:
    store = git_store()
    return Commit(store.commit(repo.storage_key, store.resolve(repo.storage_key, revision)))


def _branches(repo: Repo) -> list[str]:
    names = [
        r.removeprefix("refs/heads/")
        for r in git_store().refs(repo.storage_key)
        if r.startswith("refs/heads/")
    ]
    return sorted(names, key=lambda n: (n != repo.default_branch, n.lower()))


def _entry(repo: Repo, commit: Commit, path: str) -> TreeEntry:
    entry = git_store().entry(repo.storage_key, commit.info.sha, path.strip("/"))
    if entry is None:
        raise EntryNotFoundError(f"{path} does not exist at this revision.")
    return entry


def repo_card_get(*, repo: Repo) -> CardPage:
    """The default branch's README.md, rendered and sanitized; None when there is none
    (or it is an LFS pointer, binary-looking, or too large)."""
    commit = _commit_at(repo, repo.default_branch)
    entry = git_store().entry(repo.storage_key, commit.info.sha, README)
    card_html = None
    if entry is not None and not entry.is_dir and not entry.is_submodule:
        data = git_store().read_blob(repo.storage_key, entry.sha)
        if len(data) <= MAX_CARD_BYTES and parse_pointer(data) is None:
            rev = quote_rev(repo.default_branch)
            card_html = render_card(
                data.decode("utf-8", "replace"),
                link_base=f"/{repo.url_path}/blob/{rev}/",
                image_base=f"/{repo.url_path}/resolve/{rev}/",
            )
    return CardPage(repo.default_branch, commit, card_html, _branches(repo))


def repo_tree_get(*, repo: Repo, revision: str, path: str) -> TreePage:
    """A directory listing with sizes and LFS pointers resolved to their real size.

    EntryNotFoundError when `path` is missing; NotADirectoryError when it is a file.
    """
    commit = _commit_at(repo, revision)
    entry = _entry(repo, commit, path)
    if not entry.is_dir:
        raise NotADirectoryError(path)
    entries = list_entries(repo, commit=commit.info.sha, path=entry.path)
    rows = sorted((FileRow(e) for e in entries), key=lambda r: (not r.is_dir, r.name.lower()))
    return TreePage(revision, commit, entry.path, rows, _branches(repo))


def repo_blob_get(*, repo: Repo, revision: str, path: str) -> BlobPage:
    """One file for the file view. IsADirectoryError when `path` is a directory."""
    commit = _commit_at(repo, revision)
    entry = _entry(repo, commit, path)
    if entry.is_dir:
        raise IsADirectoryError(path)
    if entry.is_submodule:
        raise EntryNotFoundError(f"{path} is a submodule.")
    data = git_store().read_blob(repo.storage_key, entry.sha)
    lfs = None if entry.is_symlink else parse_pointer(data)
    too_large = len(data) > MAX_SHOWN_TEXT_BYTES
    text = None
    if lfs is None and not too_large:
        text = decode_text(data)
    return BlobPage(
        revision,
        commit,
        entry.path,
        len(data),
        lfs,
        entry.is_symlink,
        text,
        too_large,
        _branches(repo),
    )


def repo_raw_get(*, repo: Repo, revision: str, path: str) -> tuple[TreeEntry, bytes]:
    """The git blob at `path` as stored: a pointer file's text, a symlink's target string."""
    commit = _commit_at(repo, revision)
    entry = _entry(repo, commit, path)
    if entry.is_dir or entry.is_submodule:
        raise EntryNotFoundError(f"{path} is not a file.")
    return entry, git_store().read_blob(repo.storage_key, entry.sha)


def repo_commit_list(*, repo: Repo, revision: str, page: int) -> CommitsPage:
    """History from `revision`, newest first, COMMITS_PER_PAGE per page (page 0 first)."""
    page = min(max(page, 0), MAX_COMMIT_PAGE)
    head = _commit_at(repo, revision)
    infos, has_more = git_store().log(
        repo.storage_key, head.info.sha, offset=page * COMMITS_PER_PAGE, limit=COMMITS_PER_PAGE
    )
    return CommitsPage(revision, [Commit(i) for i in infos], page, has_more, _branches(repo))


def repo_commit_get(*, repo: Repo, sha: str) -> CommitPage:
    """One commit (full or short sha, or any revision) with its changed paths."""
    commit = _commit_at(repo, sha)
    changes = git_store().changed_paths(repo.storage_key, commit.info.sha)
    return CommitPage(commit, sorted(changes, key=lambda c: c[1]))


def repo_ref_list(*, repo: Repo) -> RefsPage:
    """Branches (default first) and tags (newest first), each with the commit it points at."""
    store = git_store()
    branches, tags = [], []
    for ref in store.refs(repo.storage_key):
        if not ref.startswith(("refs/heads/", "refs/tags/")):
            continue  # refs/pr/*, refs/convert/* have their own pages
        commit = Commit(store.commit(repo.storage_key, store.resolve(repo.storage_key, ref)))
        if ref.startswith("refs/heads/"):
            name = ref.removeprefix("refs/heads/")
            branches.append(Ref(name, commit, is_default=name == repo.default_branch))
        else:
            tags.append(Ref(ref.removeprefix("refs/tags/"), commit))
    branches.sort(key=lambda r: (not r.is_default, r.name.lower()))
    tags.sort(key=lambda r: r.commit.info.commit_time, reverse=True)
    return RefsPage(branches, tags)


def profile_get(*, viewer: User | AnonymousUser, name: str) -> Profile:
    """A namespace's page: its user (if a person) and the repos `viewer` may see."""
    namespace = namespace_get(name=name)
    if namespace is None:
        raise NotFoundError(f"{name} does not exist.")
    user = User.objects.filter(namespace=namespace).first()
    repos = list(repo_list_for_owner(user=viewer, namespace=namespace.name))
    return Profile(namespace, user, repos)


def home_list(*, viewer: User | AnonymousUser) -> tuple[list[Repo], list[Repo]]:
    """Recently updated models and datasets the viewer may see (their private ones too)."""
    return (
        repo_list_recent(user=viewer, kind="model", limit=12),
        repo_list_recent(user=viewer, kind="dataset", limit=12),
    )


def decode_text(data: bytes) -> str | None:
    """`data` as text, or None when it looks binary (a NUL byte, or not UTF-8)."""
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


# --- header: likes, downloads, what the viewer may do -----------------------------------------


@dataclass(frozen=True)
class RepoHeader:
    likes: int
    liked: bool
    downloads: int  # last 30 days
    can_admin: bool
    can_write: bool


def repo_header_get(*, repo: Repo, viewer: User | AnonymousUser) -> RepoHeader:
    """Counts shown on every repo page: two queries."""
    from django.db.models import Count, Q

    from orgs.permissions import Action, can
    from repos.downloads import download_counts
    from repos.models import Like

    viewer_id = viewer.pk if viewer.is_authenticated else None
    likes = Like.objects.filter(repo=repo).aggregate(
        n=Count("pk"), mine=Count("pk", filter=Q(user_id=viewer_id))
    )
    downloads = download_counts(repo_ids=[repo.pk])[repo.pk]
    return RepoHeader(
        likes=likes["n"] or 0,
        liked=bool(likes["mine"]),
        downloads=downloads.recent,
        can_admin=can(viewer, Action.ADMIN, repo),
        can_write=can(viewer, Action.WRITE, repo),
    )
