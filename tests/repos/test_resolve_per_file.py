"""The per-file work of `/resolve` (one HEAD and one GET per file of a snapshot_download).

What bench/hf_client.py found and these pin: a HEAD reads no blob, a request names its repo
through the case-insensitive unique indexes (no scan of every namespace), a revision is
checked without listing every ref, a full commit sha is verified once per process, and a
request costs a fixed, small number of queries.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from dulwich.objects import Commit, Tag

from common.errors import RevisionNotFoundError
from orgs.services import token_create, user_create
from repos.commits import AddFile, commit_create
from repos.git import store as store_module
from repos.git.store import GitStore, git_store, signature
from repos.selectors import repo_lookup
from repos.services import repo_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

FILES = {"config.json": b'{"a": 1}\n', "sub/deep/b.txt": b"b" * 300, "README.md": b"# r\n"}


@pytest.fixture
def setup():  # type: ignore[no-untyped-def]
    owner = user_create(username="Owner", password=None)
    repo = repo_create(actor=owner, namespace=None, name="Files")
    result = commit_create(
        actor=owner,
        repo=repo,
        revision="main",
        operations=[AddFile(path=p, content=c) for p, c in FILES.items()],
        summary="files",
    )
    secret = token_create(user=owner, name="t", role="read")[1]
    client = Client(headers={"Authorization": f"Bearer {secret}", "X-HF-Download-Counter": "1"})
    return repo, result.oid, client


def _get(client: Client, method: str, url: str):  # type: ignore[no-untyped-def]
    # gunicorn passes the undecoded path as RAW_URI; the view reads revisions from it.
    return client.generic(method, url, RAW_URI=url)


def test_head_reads_no_blob_and_get_serves_it(setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo, commit, client = setup
    url = f"/owner/files/resolve/{commit}/sub/deep/b.txt"

    def no_read(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("a HEAD must not read the blob")

    with monkeypatch.context() as m:
        m.setattr(GitStore, "read_blob", no_read)
        head = _get(client, "HEAD", url)
    assert head.status_code == 200
    assert head["Content-Length"] == "300"
    assert head["X-Repo-Commit"] == commit
    assert (
        head["ETag"].strip('"') == git_store().entry(repo.storage_key, commit, "sub/deep/b.txt").sha
    )
    get = _get(client, "GET", url)
    assert get.status_code == 200
    assert get["Content-Length"] == "300"
    assert get.content == FILES["sub/deep/b.txt"]
    ranged = client.get(url, RAW_URI=url, headers={"Range": "bytes=298-"})
    assert ranged.status_code == 206
    assert b"".join(ranged.streaming_content) == b"bb"
    assert ranged["Content-Range"] == "bytes 298-299/300"


def test_a_request_costs_two_queries(setup, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    _repo, commit, client = setup
    url = f"/owner/files/resolve/{commit}/sub/deep/b.txt"
    _get(client, "HEAD", url)  # the token's last_used_at is written once per minute at most
    for method in ("HEAD", "GET"):
        with django_assert_max_num_queries(2):  # the token with its user, the repo with its owner
            assert _get(client, method, url).status_code == 200


def test_branch_names_resolve_without_listing_refs(setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo, commit, client = setup
    store = git_store()
    store.update_ref(repo.storage_key, "refs/heads/feature/x", None, commit)
    store.update_ref(repo.storage_key, "refs/tags/v1", None, commit)

    def no_listing(*args: object, **kwargs: object) -> dict[str, str]:
        raise AssertionError("every ref listed for one request")

    with monkeypatch.context() as m:
        m.setattr(GitStore, "refs", no_listing)
        for rev in ("main", "v1", "feature%2Fx", commit, commit[:10]):
            r = _get(client, "GET", f"/owner/files/resolve/{rev}/config.json")
            assert r.status_code == 200, rev
            assert r["X-Repo-Commit"] == commit
    # A revision holding an unencoded "/" still finds the longest existing branch (that
    # fallback lists the refs, as before).
    r = _get(client, "GET", "/owner/files/resolve/feature/x/config.json")
    assert r.status_code == 200
    missing = _get(client, "HEAD", "/owner/files/resolve/nope/config.json")
    assert missing.status_code == 404
    assert missing["X-Error-Code"] == "RevisionNotFound"


def test_has_ref(setup) -> None:  # type: ignore[no-untyped-def]
    repo, commit, _client = setup
    store = git_store()
    store.update_ref(repo.storage_key, "refs/tags/v1", None, commit)
    assert store.has_ref(repo.storage_key, "main")
    assert store.has_ref(repo.storage_key, "v1")
    for name in ("nope", "", "../config", "refs/heads/main", "main\x00", "a..b", "HEAD"):
        assert not store.has_ref(repo.storage_key, name), name


def test_full_shas_are_verified_once_and_misses_are_not_kept(setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    repo, commit, _client = setup
    store = git_store()
    assert store.resolve(repo.storage_key, commit) == commit
    opens: list[str] = []
    real_open = GitStore.open

    def counting_open(self: GitStore, key: str):  # type: ignore[no-untyped-def]
        opens.append(key)
        return real_open(self, key)

    monkeypatch.setattr(GitStore, "open", counting_open)
    assert store.resolve(repo.storage_key, commit) == commit
    assert opens == []  # answered from the process's cache
    monkeypatch.undo()

    # A commit that is not in the repo yet: refused, and refused again (nothing kept) until
    # it arrives; then found.
    dulwich_repo = store.open(repo.storage_key)
    try:
        later = Commit()
        later.tree = dulwich_repo[commit.encode()].tree
        later.parents = [commit.encode()]
        later.author = later.committer = signature("T", "t@example.com")
        later.author_time = later.commit_time = 1_700_000_000
        later.author_timezone = later.commit_timezone = 0
        later.message = b"later\n"
        for _ in range(2):
            with pytest.raises(RevisionNotFoundError):
                store.resolve(repo.storage_key, later.id.decode())
        dulwich_repo.object_store.add_object(later)
        # An annotated tag's own sha peels to its commit, and is not taken for a commit.
        tag = Tag()
        tag.tagger = signature("T", "t@example.com")
        tag.message = b"t\n"
        tag.name = b"v9"
        tag.object = (Commit, later.id)
        tag.tag_time = 1_700_000_000
        tag.tag_timezone = 0
        dulwich_repo.object_store.add_object(tag)
    finally:
        dulwich_repo.close()
    assert store.resolve(repo.storage_key, later.id.decode()) == later.id.decode()
    for _ in range(2):
        assert store.resolve(repo.storage_key, tag.id.decode()) == later.id.decode()
    # A full sha names its commit even when a branch is called by that sha.
    store.update_ref(repo.storage_key, f"refs/heads/{later.id.decode()}", None, commit)
    store_module._known_commit.cache_clear()
    assert store.resolve(repo.storage_key, later.id.decode()) == later.id.decode()


def test_repo_lookup_ignores_case_through_the_unique_indexes(setup) -> None:  # type: ignore[no-untyped-def]
    repo, _commit, _client = setup
    assert repo_lookup(kind="model", namespace="OWNER", name="fILES") == repo
    assert repo_lookup(kind="dataset", namespace="owner", name="files") is None
    assert repo_lookup(kind="model", namespace="owner", name="files2") is None
    with CaptureQueriesContext(connection) as queries:
        repo_lookup(kind="model", namespace="Owner", name="Files")
    (sql,) = (q["sql"] for q in queries.captured_queries)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            plan = " ".join(str(row) for row in cursor.fetchall())
        else:  # a tiny table: make the planner show whether it could use the index
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql)
            plan = " ".join(str(row) for row in cursor.fetchall())
            cursor.execute("SET enable_seqscan = on")
    assert "namespace_name_ci_unique" in plan, plan
    if connection.vendor == "sqlite":
        assert "repo_owner_kind_name_ci_unique" in plan, plan
    else:  # PostgreSQL picks by table statistics; the condition is that index's expression
        assert 'LOWER("repos_repo"."name") = (LOWER(' in sql, sql
