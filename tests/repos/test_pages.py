"""Repo pages: the new-repo form, the card, files, raw, history, branches, and who sees what."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
from django.test import Client
from dulwich.objects import Blob, Commit, Tree

from orgs.models import User
from orgs.services import user_create
from repos.git.store import git_store
from repos.lfs.pointer import Pointer
from repos.models import Repo
from repos.pages import COMMITS_PER_PAGE
from repos.services import repo_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

POINTER = Pointer(oid="a" * 64, size=3 * 1024 * 1024 * 1024)
HOSTILE_README = b"""---
license: mit
secret_front_matter: do-not-render
---
# Hello card

<script>alert("xss")</script>
<img src=x onerror="alert(1)">

[click](javascript:alert(1))

<a href="data:text/html,<script>alert(1)</script>">data</a>
"""


def write_commit(
    repo: Repo, files: dict[str, bytes | tuple[int, bytes]], *, message: str, branch: str = "main"
) -> str:
    """Commit exactly `files` (path -> bytes, or (mode, bytes)) on top of `branch`."""
    store = git_store()
    git = store.open(repo.storage_key)
    try:

        def tree(entries: dict[str, tuple[int, bytes]]) -> bytes:
            node, subdirs = Tree(), defaultdict(dict)
            for path, (mode, data) in entries.items():
                head, _, rest = path.partition("/")
                if rest:
                    subdirs[head][rest] = (mode, data)
                else:
                    blob = Blob.from_string(data)
                    git.object_store.add_object(blob)
                    node.add(head.encode(), mode, blob.id)
            for name, sub in subdirs.items():
                node.add(name.encode(), 0o040000, tree(sub))
            git.object_store.add_object(node)
            return node.id

        normalized = {p: v if isinstance(v, tuple) else (0o100644, v) for p, v in files.items()}
        ref = f"refs/heads/{branch}"
        old = store.refs(repo.storage_key).get(ref)
        parent = old or store.resolve(repo.storage_key, repo.default_branch)
        commit = Commit()
        commit.tree = tree(normalized)
        commit.parents = [parent.encode()]
        commit.author = commit.committer = b"Test Author <test@example.com>"
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.message = message.encode()
        git.object_store.add_object(commit)
    finally:
        git.close()
    store.update_ref(repo.storage_key, ref, old, commit.id.decode())
    return commit.id.decode()


@pytest.fixture
def owner() -> User:
    return user_create(username="Owner", password="correct-horse-1")


@pytest.fixture
def outsider() -> User:
    return user_create(username="outsider", password="correct-horse-1")


@pytest.fixture
def owner_client(client: Client, owner: User) -> Client:
    client.force_login(owner)
    return client


@pytest.fixture
def repo(owner: User) -> Repo:
    repo = repo_create(actor=owner, namespace=None, name="demo-model", kind="model")
    write_commit(
        repo,
        {
            ".gitattributes": b"*.bin filter=lfs diff=lfs merge=lfs -text\n",
            "README.md": HOSTILE_README,
            "config.json": b'{"a": "<b>1</b>"}\n',
            "weights.bin": POINTER.encode(),
            "blob.dat": b"\x00\x01\x02binary",
            "docs/guide.md": b"# Guide\n",
            "link": (0o120000, b"/etc/passwd"),
        },
        message="Add the model files\n\nLonger body.",
    )
    return repo


# --- new repo form ------------------------------------------------------------------------------


def test_new_repo_needs_sign_in(client: Client) -> None:
    response = client.get("/new")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/new"


def test_new_repo_form_creates_the_repo_and_redirects(owner_client: Client) -> None:
    response = owner_client.post(
        "/new-dataset",
        {"owner": "Owner", "name": "my-data", "kind": "dataset", "visibility": "private"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/datasets/Owner/my-data"
    repo = Repo.objects.get(name="my-data")
    assert (repo.kind, repo.private) == ("dataset", True)
    assert owner_client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad--name", "forbidden"),
        ("-x", "Invalid repo name"),
        ("a" * 97, "at most"),
        ("x.git", "cannot end"),
    ],
)
def test_new_repo_form_shows_a_bad_name_on_the_form(
    owner_client: Client, name: str, message: str
) -> None:
    response = owner_client.post(
        "/new", {"owner": "Owner", "name": name, "kind": "model", "visibility": "public"}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Repo.objects.exists()


def test_new_repo_form_shows_a_taken_name_on_the_form(owner_client: Client, repo: Repo) -> None:
    response = owner_client.post(
        "/new", {"owner": "Owner", "name": "DEMO-model", "kind": "model", "visibility": "public"}
    )
    assert response.status_code == 200
    assert "already created" in response.content.decode()
    assert Repo.objects.count() == 1


def test_new_repo_form_refuses_someone_elses_namespace(
    owner_client: Client, outsider: User
) -> None:
    response = owner_client.post(
        "/new", {"owner": "outsider", "name": "x", "kind": "model", "visibility": "public"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Repo.objects.exists()


# --- card ---------------------------------------------------------------------------------------


def test_repo_page_renders_the_readme_sanitized(
    client: Client, repo: Repo, django_assert_max_num_queries
) -> None:
    # The card and the header (likes with the viewer's own, downloads): no per-item queries.
    with django_assert_max_num_queries(4):
        response = client.get("/Owner/demo-model")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    card = html[html.index('class="markdown"') : html.index("</article>")]
    assert "<h1>Hello card</h1>" in card
    assert "<script" not in card
    assert "onerror" not in card
    assert 'href="javascript' not in card
    assert "data:text" not in card
    assert "secret_front_matter" not in card


def test_repo_page_has_clone_instructions(client: Client, repo: Repo) -> None:
    html = client.get("/Owner/demo-model").content.decode()
    assert "git lfs install" in html
    assert "git clone http://testserver/Owner/demo-model" in html
    assert "HF_ENDPOINT=http://testserver" in html
    assert "HF_HUB_DISABLE_XET=1" in html
    assert 'AutoModel.from_pretrained("Owner/demo-model")' in html
    assert "load_dataset" not in html


def test_repo_page_without_readme_invites_one(client: Client, owner: User) -> None:
    repo_create(actor=owner, namespace=None, name="empty", kind="dataset")
    html = client.get("/datasets/Owner/empty").content.decode()
    assert "No dataset card yet" in html
    assert 'repo_type="dataset"' in html
    assert 'load_dataset("Owner/empty", streaming=True)' in html  # same endpoint variables
    assert "from_pretrained" not in html


def test_repo_page_accepts_any_case(client: Client, repo: Repo) -> None:
    assert client.get("/owner/DEMO-MODEL").status_code == 200


# --- files --------------------------------------------------------------------------------------


def test_tree_lists_directories_first_with_lfs_sizes(client: Client, repo: Repo) -> None:
    html = client.get("/Owner/demo-model/tree/main").content.decode()
    assert html.index("docs</a>") < html.index(".gitattributes</a>")
    assert "3.0\xa0GB" in html
    assert "badge-lfs" in html
    assert 'href="/Owner/demo-model/blob/main/weights.bin"' in html
    assert 'href="/Owner/demo-model/tree/main/docs"' in html


def test_tree_of_a_subdirectory_has_breadcrumbs(client: Client, repo: Repo) -> None:
    html = client.get("/Owner/demo-model/tree/main/docs").content.decode()
    assert "guide.md</a>" in html
    assert 'class="breadcrumbs"' in html
    assert '<span class="current">docs</span>' in html


def test_tree_on_a_file_redirects_to_its_blob(client: Client, repo: Repo) -> None:
    response = client.get("/Owner/demo-model/tree/main/config.json")
    assert response["Location"] == "/Owner/demo-model/blob/main/config.json"


def test_branch_with_a_slash_is_linked_encoded(client: Client, repo: Repo) -> None:
    write_commit(
        repo,
        {"README.md": b"# on a branch\n", "x/y.txt": b"y"},
        message="branch",
        branch="feature/x",
    )
    html = client.get("/Owner/demo-model/tree/feature%2Fx/x").content.decode()
    assert 'href="/Owner/demo-model/blob/feature%2Fx/x/y.txt"' in html
    blob = client.get("/Owner/demo-model/blob/feature%2Fx/x/y.txt")
    assert blob.status_code == 200


def test_blob_shows_text_escaped(client: Client, repo: Repo) -> None:
    html = client.get("/Owner/demo-model/blob/main/config.json").content.decode()
    assert "&lt;b&gt;1&lt;/b&gt;" in html
    assert 'href="/Owner/demo-model/raw/main/config.json"' in html
    assert 'href="/Owner/demo-model/resolve/main/config.json?download=true"' in html


def test_blob_of_an_lfs_pointer_shows_the_real_size(client: Client, repo: Repo) -> None:
    html = client.get("/Owner/demo-model/blob/main/weights.bin").content.decode()
    assert "stored with Git LFS" in html
    assert str(POINTER.size) in html
    assert POINTER.oid in html


def test_blob_of_a_binary_file_is_not_shown(client: Client, repo: Repo) -> None:
    assert (
        "Binary file not shown"
        in client.get("/Owner/demo-model/blob/main/blob.dat").content.decode()
    )


def test_raw_serves_text_as_plain_text_with_nosniff(client: Client, repo: Repo) -> None:
    response = client.get("/Owner/demo-model/raw/main/README.md")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == HOSTILE_README


def test_raw_serves_binary_as_an_attachment(client: Client, repo: Repo) -> None:
    response = client.get("/Owner/demo-model/raw/main/blob.dat")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith('attachment; filename="blob.dat"')
    assert response.content == b"\x00\x01\x02binary"


def test_raw_of_a_symlink_is_its_target_string(client: Client, repo: Repo) -> None:
    response = client.get("/Owner/demo-model/raw/main/link")
    assert response.content == b"/etc/passwd"


def test_raw_of_an_lfs_file_is_the_pointer(client: Client, repo: Repo) -> None:
    assert client.get("/Owner/demo-model/raw/main/weights.bin").content == POINTER.encode()


# --- history ------------------------------------------------------------------------------------


def test_commits_are_paginated(client: Client, repo: Repo) -> None:
    for i in range(COMMITS_PER_PAGE + 1):
        write_commit(repo, {"n.txt": str(i).encode()}, message=f"change {i}")
    first = client.get("/Owner/demo-model/commits/main").content.decode()
    assert f"change {COMMITS_PER_PAGE}" in first
    assert "Older" in first
    assert 'href="?p=1"' in first
    second = client.get("/Owner/demo-model/commits/main?p=1").content.decode()
    assert "initial commit" in second
    assert f"change {COMMITS_PER_PAGE}<" not in second
    assert client.get("/Owner/demo-model/commits/main?p=nope").status_code == 200


def test_commit_page_lists_changed_files(client: Client, repo: Repo) -> None:
    sha = write_commit(repo, {".gitattributes": b"changed\n", "new.txt": b"n"}, message="Swap")
    response = client.get(f"/Owner/demo-model/commit/{sha[:10]}")
    html = response.content.decode()
    assert "Swap" in html
    assert 'title="added">A</span>' in html
    assert "new.txt" in html
    assert 'title="modified">M</span>' in html
    assert ".gitattributes" in html
    assert 'title="deleted">D</span>' in html
    assert "config.json" in html


def test_refs_page_lists_branches_and_tags(client: Client, repo: Repo) -> None:
    head = git_store().resolve(repo.storage_key, "main")
    git_store().update_ref(repo.storage_key, "refs/tags/v1.0", None, head)
    write_commit(repo, {"a": b"a"}, message="dev work", branch="dev")
    html = client.get("/Owner/demo-model/refs").content.decode()
    assert "badge-default" in html
    assert 'href="/Owner/demo-model/tree/dev"' in html
    assert "dev work" in html
    assert 'href="/Owner/demo-model/tree/v1.0"' in html


# --- access and missing things ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["", "/tree/main", "/blob/main/README.md", "/raw/main/README.md", "/commits/main", "/refs"],
)
def test_private_repo_is_404_for_an_outsider(
    client: Client, owner: User, outsider: User, path: str
) -> None:
    private = repo_create(actor=owner, namespace=None, name="secret", kind="model", private=True)
    write_commit(private, {"README.md": b"# hidden"}, message="x")
    client.force_login(outsider)
    assert client.get(f"/Owner/secret{path}").status_code == 404
    client.force_login(owner)
    assert client.get(f"/Owner/secret{path}").status_code == 200


def test_private_repo_is_404_with_a_sign_in_link_for_anonymous(client: Client, owner: User) -> None:
    repo_create(actor=owner, namespace=None, name="secret", kind="model", private=True)
    response = client.get("/Owner/secret")
    assert response.status_code == 404
    assert "/login?next=/Owner/secret" in response.content.decode()
    assert "secret" not in response.content.decode().replace("/Owner/secret", "")


@pytest.mark.parametrize(
    "path",
    [
        "/tree/nope",
        "/blob/nope/README.md",
        "/blob/main/missing.txt",
        "/tree/main/missing",
        "/raw/main/docs",
        "/commits/nope",
        "/commit/deadbeef",
        "/commit/" + "0" * 40,
        "/blob/main/README.md/x",
        "/tree/%00",
    ],
)
def test_missing_revision_or_path_is_404(client: Client, repo: Repo, path: str) -> None:
    assert client.get(f"/Owner/demo-model{path}").status_code == 404


def test_model_path_does_not_serve_a_dataset(client: Client, owner: User) -> None:
    repo_create(actor=owner, namespace=None, name="d", kind="dataset")
    assert client.get("/Owner/d").status_code == 404
    assert client.get("/datasets/Owner/d").status_code == 200


# --- home and profiles --------------------------------------------------------------------------


def test_home_lists_public_repos_and_only_the_viewers_private_ones(
    client: Client, owner: User, outsider: User
) -> None:
    repo_create(actor=owner, namespace=None, name="pub-model", kind="model")
    repo_create(actor=owner, namespace=None, name="pub-data", kind="dataset")
    repo_create(actor=owner, namespace=None, name="secret-stuff", kind="model", private=True)
    html = client.get("/").content.decode()
    assert "Owner/pub-model" in html
    assert "Owner/pub-data" in html
    assert "secret-stuff" not in html
    client.force_login(owner)
    assert "Owner/secret-stuff" in client.get("/").content.decode()


def test_profile_lists_the_repos_the_viewer_may_see(
    client: Client, owner: User, outsider: User
) -> None:
    repo_create(actor=owner, namespace=None, name="pub-model", kind="model")
    repo_create(actor=owner, namespace=None, name="secret-stuff", kind="model", private=True)
    client.force_login(outsider)
    html = client.get("/owner").content.decode()
    assert "Owner/pub-model" in html
    assert "secret-stuff" not in html
    assert client.get("/nobody-here").status_code == 404
