"""Git over smart HTTP against a live hub: clone, push, access control and push policy."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import HubServer
from tests.e2e.helpers import (
    clone,
    commit_file,
    git,
    head,
    poll,
    query_events,
    random_bytes,
    raw_receive_pack,
    remote_refs,
    repo_path,
    repo_url,
    server_has_object,
    server_repo_dir,
)

pytestmark = [pytest.mark.git, pytest.mark.e2e]

ZERO = "0" * 40


@pytest.fixture(scope="module")
def owner(hub_server: HubServer) -> tuple[str, str]:
    """A user with a write token: (name, token)."""
    return hub_server.create_user()


@pytest.fixture(scope="module")
def private_repo(hub_server: HubServer, owner: tuple[str, str]) -> str:
    return hub_server.create_repo(owner[1], private=True)


def info_refs(
    server: HubServer, path: str, service: str = "git-upload-pack", **kwargs: object
) -> requests.Response:
    return requests.get(
        f"{server.url}{path}/info/refs", params={"service": service}, timeout=30, **kwargs
    )  # type: ignore[arg-type]


def _fresh_clone(
    server: HubServer, token: str, env: dict[str, str], tmp_path: Path
) -> tuple[str, Path]:
    """A new public repo of the token's user, cloned with the token: (ns/name, work dir)."""
    repo = server.create_repo(token)
    work = tmp_path / "w"
    clone(server, repo, work, env, token)
    return repo, work


def _main(server: HubServer, repo: str, env: dict[str, str], token: str) -> str:
    return remote_refs(server, repo, env, token)["refs/heads/main"]


# --- clone and push ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["model", "dataset"])
def test_clone_with_and_without_dot_git_and_push(hub_server, owner, git_env, tmp_path, kind):
    repo = hub_server.create_repo(owner[1], kind=kind)
    plain, dotted = tmp_path / "plain", tmp_path / "dotted"
    clone(hub_server, repo, plain, git_env, owner[1], kind=kind)
    assert (plain / ".gitattributes").read_text().count("filter=lfs") > 5
    sha = commit_file(plain, git_env, "README.md", "# hello\n")
    git("push", "origin", "main", cwd=plain, env=git_env)

    clone(hub_server, repo, dotted, git_env, owner[1], kind=kind, dot_git=True)
    assert head(dotted, git_env) == sha
    assert (dotted / "README.md").read_text() == "# hello\n"
    # The other kind's URL does not reach this repo.
    other = "model" if kind == "dataset" else "dataset"
    assert info_refs(hub_server, repo_path(repo, other), auth=("x", owner[1])).status_code == 404


def test_public_repo_clones_anonymously(hub_server, owner, git_env, tmp_path):
    repo = hub_server.create_repo(owner[1])
    clone(hub_server, repo, tmp_path / "anon", git_env)
    assert (tmp_path / "anon" / ".gitattributes").exists()


# --- private repos ----------------------------------------------------------------------------


def test_private_repo_answers_anonymous_401_like_a_missing_repo(
    hub_server, private_repo, git_env, tmp_path
):
    hidden = info_refs(hub_server, f"/{private_repo}")
    missing = info_refs(hub_server, f"/{private_repo}-does-not-exist")
    assert hidden.status_code == missing.status_code == 401
    assert "Basic" in hidden.headers["WWW-Authenticate"]
    assert hidden.content == missing.content
    assert hidden.headers.get("X-Error-Code") == missing.headers.get("X-Error-Code")
    # Extra or odd query parameters reveal nothing either.
    for params in ({"service": "foo"}, {"go-get": "1"}):
        a = requests.get(
            f"{hub_server.url}/{private_repo}.git/info/refs", params=params, timeout=30
        )
        b = requests.get(
            f"{hub_server.url}/{private_repo}-nope.git/info/refs", params=params, timeout=30
        )
        assert (a.status_code, a.content) == (b.status_code, b.content)
        assert a.status_code < 500

    proc = clone(hub_server, private_repo, tmp_path / "anon", git_env, check=False)
    assert proc.returncode != 0
    assert not (tmp_path / "anon" / ".gitattributes").exists()


def test_private_repo_other_user_gets_404_owner_clones(
    hub_server, owner, private_repo, git_env, tmp_path
):
    _other, other_token = hub_server.create_user()
    for auth in (
        {"auth": ("x", other_token)},
        {"headers": {"Authorization": f"Bearer {other_token}"}},
    ):
        hidden = info_refs(hub_server, f"/{private_repo}", **auth)
        missing = info_refs(hub_server, f"/{private_repo}-does-not-exist", **auth)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.content == missing.content
    assert (
        clone(
            hub_server, private_repo, tmp_path / "o", git_env, other_token, check=False
        ).returncode
        != 0
    )

    clone(hub_server, private_repo, tmp_path / "mine", git_env, owner[1])
    assert (tmp_path / "mine" / ".gitattributes").exists()
    # A read token of the owner can clone too.
    read_token = hub_server.token(owner[0], "read")
    clone(hub_server, private_repo, tmp_path / "read", git_env, read_token)


# --- who may push -----------------------------------------------------------------------------


def test_push_needs_write_access(hub_server, owner, git_env, tmp_path):
    repo = hub_server.create_repo(owner[1])
    read_token = hub_server.token(owner[0], "read")
    _other, other_token = hub_server.create_user()
    work = tmp_path / "w"
    clone(hub_server, repo, work, git_env)
    before = _main(hub_server, repo, git_env, owner[1])
    commit_file(work, git_env, "x.txt", "x\n")

    for token in (None, read_token, other_token):
        push = git(
            "push", repo_url(hub_server, repo, token), "main", cwd=work, env=git_env, check=False
        )
        assert push.returncode != 0, push.stderr
    assert _main(hub_server, repo, git_env, owner[1]) == before

    # The same refusals at the HTTP level, for Basic and Bearer alike.
    path = f"/{repo}.git"
    assert info_refs(hub_server, path, "git-receive-pack").status_code == 401
    for token in (read_token, other_token):
        for auth in ({"auth": ("x", token)}, {"headers": {"Authorization": f"Bearer {token}"}}):
            assert info_refs(hub_server, path, "git-receive-pack", **auth).status_code == 403
    r = requests.post(
        f"{hub_server.url}{path}/git-receive-pack",
        data=b"0000",
        timeout=30,
        headers={"Content-Type": "application/x-git-receive-pack-request"},
    )
    assert r.status_code == 401


# --- push policy ------------------------------------------------------------------------------


def test_stale_push_is_rejected(hub_server, owner, git_env, tmp_path):
    repo = hub_server.create_repo(owner[1])
    a, b = tmp_path / "a", tmp_path / "b"
    clone(hub_server, repo, a, git_env, owner[1])
    clone(hub_server, repo, b, git_env, owner[1])
    winner = commit_file(a, git_env, "a.txt", "a\n")
    git("push", "origin", "main", cwd=a, env=git_env)
    commit_file(b, git_env, "b.txt", "b\n")
    stale = git("push", "origin", "main", cwd=b, env=git_env, check=False)
    assert stale.returncode != 0
    assert "rejected" in stale.stderr
    assert _main(hub_server, repo, git_env, owner[1]) == winner
    # The server itself compares the old value: a command built on the stale base is `ng`.
    base = head(b, git_env, "HEAD~1")
    r, report = raw_receive_pack(hub_server, repo, owner[1], [(base, base, "refs/heads/main")])
    assert r.status_code == 200
    assert any(line.startswith("ng refs/heads/main") for line in report), report
    assert _main(hub_server, repo, git_env, owner[1]) == winner


def _push_in_parallel(
    works: list[Path], env: dict[str, str]
) -> list[subprocess.CompletedProcess[str]]:
    """`git push origin main` from every work dir at once (released together by a barrier)."""
    results: list[subprocess.CompletedProcess[str] | None] = [None] * len(works)
    start = threading.Barrier(len(works))

    def push(i: int) -> None:
        start.wait()
        results[i] = git("push", "origin", "main", cwd=works[i], env=env, check=False)

    threads = [threading.Thread(target=push, args=(i,)) for i in range(len(works))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(r is not None for r in results), "a push did not finish"
    return results  # type: ignore[return-value]


def test_concurrent_pushes_to_one_branch_never_lose_a_commit(hub_server, owner, git_env, tmp_path):
    repo = hub_server.create_repo(owner[1])
    works = [tmp_path / "a", tmp_path / "b"]
    for work in works:
        clone(hub_server, repo, work, git_env, owner[1])
    moves = []  # (old, new) of main, one per round
    for round_no in range(4):
        base = _main(hub_server, repo, git_env, owner[1])
        for i, work in enumerate(works):
            git("fetch", "-q", "origin", cwd=work, env=git_env)
            git("reset", "-q", "--hard", "origin/main", cwd=work, env=git_env)
            commit_file(work, git_env, f"f{i}.txt", f"round {round_no} from {i}\n")
        shas = [head(w, git_env) for w in works]
        results = _push_in_parallel(works, git_env)
        codes = [r.returncode for r in results]
        assert codes.count(0) == 1, (codes, [r.stderr for r in results])
        winner = shas[codes.index(0)]
        assert _main(hub_server, repo, git_env, owner[1]) == winner
        moves.append((base, winner))

    # Every winning push, and only those, published its RepoUpdated.
    def published() -> list[tuple[str, str]] | None:
        rows = [
            r for r in query_events(hub_server, "repo.updated") if r["payload"]["full_name"] == repo
        ]
        got = [(u["old"], u["new"]) for r in rows for u in r["payload"]["updates"]]
        return got if len(got) >= len(moves) else None

    assert poll(published, timeout=30, what="one event per winning push") == moves


def test_oversize_plain_blob_is_refused(hub_server, owner, git_env, tmp_path):
    repo, work = _fresh_clone(hub_server, owner[1], git_env, tmp_path)
    before = head(work, git_env)
    commit_file(work, git_env, "data.dat", random_bytes(11 * 1024 * 1024))
    blob = git("rev-parse", "HEAD:data.dat", cwd=work, env=git_env).stdout.strip()
    push = git("push", "origin", "main", cwd=work, env=git_env, check=False)
    assert push.returncode != 0
    assert "remote:" in push.stderr
    assert "data.dat" in push.stderr
    assert "Git LFS" in push.stderr
    assert _main(hub_server, repo, git_env, owner[1]) == before
    assert not server_has_object(hub_server, blob)


def test_ref_outside_heads_and_tags_is_refused(hub_server, owner, git_env, tmp_path):
    repo, work = _fresh_clone(hub_server, owner[1], git_env, tmp_path)
    commit_file(work, git_env, "x.txt", "x\n")
    push = git("push", "origin", "HEAD:refs/foo/bar", cwd=work, env=git_env, check=False)
    assert push.returncode != 0
    assert "only branches and tags" in push.stderr
    assert "refs/foo/bar" not in remote_refs(hub_server, repo, git_env, owner[1])
    # Branches and tags are fine.
    git("push", "origin", "HEAD:refs/heads/dev", "HEAD:refs/tags/v1", cwd=work, env=git_env)
    refs = remote_refs(hub_server, repo, git_env, owner[1])
    assert refs["refs/heads/dev"] == refs["refs/tags/v1"] == head(work, git_env)


def test_deleting_the_default_branch_is_refused(hub_server, owner, git_env, tmp_path):
    repo, work = _fresh_clone(hub_server, owner[1], git_env, tmp_path)
    git("push", "origin", "main:dev", cwd=work, env=git_env)
    push = git("push", "origin", "--delete", "main", cwd=work, env=git_env, check=False)
    assert push.returncode != 0
    refs = remote_refs(hub_server, repo, git_env, owner[1])
    assert refs["refs/heads/main"] == head(work, git_env)
    # Other branches can be deleted.
    git("push", "origin", "--delete", "dev", cwd=work, env=git_env)
    assert "refs/heads/dev" not in remote_refs(hub_server, repo, git_env, owner[1])


def _commit_with_tree_entry(work: Path, env: dict[str, str], name: str) -> str:
    """A commit on top of HEAD whose root tree holds `name/config` (built with plumbing)."""
    blob = git(
        "hash-object", "-w", "--stdin", cwd=work, env=env, input=b"[core]\n\tbare = false\n"
    ).stdout.strip()
    inner = git("mktree", cwd=work, env=env, input=f"100644 blob {blob}\tconfig\n".encode())
    root_entries = git("ls-tree", "HEAD", cwd=work, env=env).stdout
    root_entries += f"040000 tree {inner.stdout.strip()}\t{name}\n"
    tree = git("mktree", cwd=work, env=env, input=root_entries.encode()).stdout.strip()
    return git("commit-tree", tree, "-p", "HEAD", "-m", "sneaky", cwd=work, env=env).stdout.strip()


@pytest.mark.parametrize("name", [".GIT", ".Git", "git~1", ".git.", ".gi\u200ct"])
def test_tree_with_dotgit_entry_is_refused_by_fsck(hub_server, owner, git_env, tmp_path, name):
    repo, work = _fresh_clone(hub_server, owner[1], git_env, tmp_path)
    before = head(work, git_env)
    commit = _commit_with_tree_entry(work, git_env, name)
    push = git("push", "origin", f"{commit}:refs/heads/main", cwd=work, env=git_env, check=False)
    assert push.returncode != 0
    assert "dotgit" in push.stderr.lower() or "fsck" in push.stderr.lower(), push.stderr
    assert _main(hub_server, repo, git_env, owner[1]) == before
    assert not server_has_object(hub_server, commit)


def test_push_publishes_repo_updated_after_commit(hub_server, owner, git_env, tmp_path):
    repo, work = _fresh_clone(hub_server, owner[1], git_env, tmp_path)
    old = head(work, git_env)
    new = commit_file(work, git_env, "README.md", "# events\n")
    git("push", "origin", "main", cwd=work, env=git_env)

    def dispatched() -> dict | None:
        for row in query_events(hub_server, "repo.updated"):
            if row["payload"]["full_name"] == repo and row["dispatched"]:
                return row
        return None

    row = poll(dispatched, timeout=60, what="a dispatched repo.updated event")
    assert row["payload"]["updates"] == [{"ref": "refs/heads/main", "old": old, "new": new}]
    assert row["payload"]["source"] == "git"
    # Exactly one event for the push, none for the refused one below.
    commit_file(work, git_env, "big.dat", random_bytes(11 * 1024 * 1024))
    assert git("push", "origin", "main", cwd=work, env=git_env, check=False).returncode != 0
    rows = [
        r for r in query_events(hub_server, "repo.updated") if r["payload"]["full_name"] == repo
    ]
    assert len(rows) == 1


# --- raw protocol: what the git client would not send -----------------------------------------


def test_receive_pack_needs_the_exact_content_type(hub_server, owner):
    repo = hub_server.create_repo(owner[1])
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        r = requests.post(
            f"{hub_server.url}/{repo}.git/git-receive-pack",
            data=b"0000",
            auth=("x", owner[1]),
            headers={"Content-Type": content_type},
            timeout=30,
        )
        assert r.status_code == 415


def test_funny_refname_is_refused(hub_server, owner, git_env):
    repo = hub_server.create_repo(owner[1])
    main = _main(hub_server, repo, git_env, owner[1])
    r, report = raw_receive_pack(
        hub_server, repo, owner[1], [(ZERO, main, "refs/heads/../../config")]
    )
    assert r.status_code == 200
    assert any(line.startswith("ng refs/heads/../../config") for line in report), report
    repo_dir = server_repo_dir(hub_server, repo)
    assert "[core]" in (repo_dir / "config").read_text()
    assert set(remote_refs(hub_server, repo, git_env, owner[1])) == {"HEAD", "refs/heads/main"}


def test_ref_to_a_missing_object_is_refused(hub_server, owner, git_env):
    repo = hub_server.create_repo(owner[1])
    r, report = raw_receive_pack(hub_server, repo, owner[1], [(ZERO, "1" * 40, "refs/heads/ghost")])
    assert r.status_code == 200
    assert any(line.startswith("ng refs/heads/ghost") for line in report), report
    assert "refs/heads/ghost" not in remote_refs(hub_server, repo, git_env, owner[1])


def test_push_while_the_ref_is_locked_is_a_clean_rejection(hub_server, owner, git_env, tmp_path):
    repo, work = _fresh_clone(hub_server, owner[1], git_env, tmp_path)
    before = head(work, git_env)
    lock = server_repo_dir(hub_server, repo) / "refs" / "heads" / "main.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("held by a killed writer\n")
    try:
        new = commit_file(work, git_env, "x.txt", "x\n")
        push = git("push", "origin", "main", cwd=work, env=git_env, check=False)
        assert push.returncode != 0
        assert "[remote rejected]" in push.stderr, push.stderr
        # At the protocol level: HTTP 200 with a per-ref `ng`, never a 500.
        r, report = raw_receive_pack(
            hub_server, repo, owner[1], [(before, before, "refs/heads/main")]
        )
        assert r.status_code == 200
        assert any(line.startswith("ng refs/heads/main") for line in report), report
    finally:
        lock.unlink()
    assert _main(hub_server, repo, git_env, owner[1]) == before
    git("push", "origin", "main", cwd=work, env=git_env)
    assert _main(hub_server, repo, git_env, owner[1]) == new


@pytest.mark.parametrize(
    "path",
    [
        "/%2e%2e/%2e%2e/etc.git/info/refs",
        "/../../etc.git/info/refs",
        "/x/%2e%2e.git/info/refs",
        "/../x.git/info/refs",
        "/x/...git/info/refs",
        "/con/con.git/info/refs",
        "/a..b/c.git/info/refs",
        "/a/b%00c.git/info/refs",
        "/a%00/b.git/info/refs",
        "/" + "a" * 300 + "/b.git/info/refs",
        "/a/" + "b" * 300 + ".git/info/refs",
        "/datasets/%2e%2e/x.git/info/refs",
        "/a/b.git/info/refs/../../../config",
        "/a/b.git/info/lfs/objects/batch/../../../../etc/passwd",
    ],
)
def test_traversal_and_odd_names_are_4xx(hub_server, path):
    for method in ("GET", "POST"):
        r = requests.request(
            method,
            hub_server.url + path,
            params={"service": "git-upload-pack"},
            timeout=30,
            headers={"Content-Type": "application/x-git-upload-pack-request"},
        )
        assert 400 <= r.status_code < 500, (method, path, r.status_code)


def _gitmodules_commit(work: Path, env: dict[str, str], content: str, *, symlink: bool) -> str:
    """A commit on top of HEAD with a `.gitmodules` blob (or a symlink named so)."""
    blob = git("hash-object", "-w", "--stdin", cwd=work, env=env, input=content.encode())
    mode = "120000" if symlink else "100644"
    entries = git("ls-tree", "HEAD", cwd=work, env=env).stdout
    entries += f"{mode} blob {blob.stdout.strip()}\t.gitmodules\n"
    tree = git("mktree", cwd=work, env=env, input=entries.encode()).stdout.strip()
    return git("commit-tree", tree, "-p", "HEAD", "-m", "modules", cwd=work, env=env).stdout.strip()


@pytest.mark.parametrize(
    ("content", "symlink"),
    [
        ("/etc/passwd", True),
        ('[submodule "x"]\n\tpath = x\n\turl = -u./payload\n', False),
        ('[submodule "x"]\n\tpath = -x\n\turl = https://example.com/x\n', False),
        ('[submodule "../../modules/evil"]\n\tpath = x\n\turl = https://example.com/x\n', False),
    ],
    ids=["symlink", "url-option", "path-option", "name-dotdot"],
)
def test_hostile_gitmodules_are_refused(hub_server, owner, git_env, tmp_path, content, symlink):
    repo, work = _fresh_clone(hub_server, owner[1], git_env, tmp_path)
    before = head(work, git_env)
    commit = _gitmodules_commit(work, git_env, content, symlink=symlink)
    push = git("push", "origin", f"{commit}:refs/heads/main", cwd=work, env=git_env, check=False)
    assert push.returncode != 0
    assert "gitmodules" in push.stderr.lower(), push.stderr
    assert _main(hub_server, repo, git_env, owner[1]) == before
    assert not server_has_object(hub_server, commit)


def test_truncated_or_garbage_packs_change_nothing(hub_server, owner, git_env, tmp_path):
    repo, work = _fresh_clone(hub_server, owner[1], git_env, tmp_path)
    before = head(work, git_env)
    new = commit_file(work, git_env, "x.bin.txt", random_bytes(64 * 1024))
    pack = subprocess.run(
        ["git", "pack-objects", "--stdout", "--revs"],
        cwd=work,
        env=git_env,
        check=True,
        input=f"{new}\n^{before}\n".encode(),
        capture_output=True,
    ).stdout
    repo_dir = server_repo_dir(hub_server, repo)
    for body in (pack[: len(pack) // 2], pack[:-1] + bytes([pack[-1] ^ 1]), b"PACK garbage"):
        r, report = raw_receive_pack(
            hub_server, repo, owner[1], [(before, new, "refs/heads/main")], pack=body
        )
        assert r.status_code == 200
        assert not any(line.startswith("ok ") for line in report), report
        assert _main(hub_server, repo, git_env, owner[1]) == before
        assert not server_has_object(hub_server, new)
    # The quarantine of each failed push is gone.
    assert not list((repo_dir / "objects").glob("tmp_objdir-*"))
    assert not list((repo_dir / "objects").glob("incoming-*"))
    # A request that is not the protocol at all is a client error, not a server one.
    for junk in (b"hello", b"00", b"zzzz" * 10, b""):
        r = requests.post(
            f"{hub_server.url}/{repo}.git/git-receive-pack",
            data=junk,
            auth=("x", owner[1]),
            timeout=30,
            headers={"Content-Type": "application/x-git-receive-pack-request"},
        )
        assert r.status_code < 500, (junk, r.status_code)
    # The intact pack goes through.
    r, report = raw_receive_pack(
        hub_server, repo, owner[1], [(before, new, "refs/heads/main")], pack=pack
    )
    assert "ok refs/heads/main" in report, report
    assert _main(hub_server, repo, git_env, owner[1]) == new


def _deep_tree_commit(work: Path, depth: int) -> str:
    """A commit on top of HEAD holding d/d/.../d/leaf, `depth` directories deep (dulwich)."""
    from dulwich.objects import Blob, Commit, Tree
    from dulwich.repo import Repo

    repo = Repo(str(work))
    try:
        blob = Blob.from_string(b"deep\n")
        repo.object_store.add_object(blob)
        tree = Tree()
        tree.add(b"leaf", 0o100644, blob.id)
        repo.object_store.add_object(tree)
        for _ in range(depth):
            parent = Tree()
            parent.add(b"d", 0o040000, tree.id)
            repo.object_store.add_object(parent)
            tree = parent
        base = repo[repo.head()]
        root = repo[base.tree]
        root.add(b"deep", 0o040000, tree.id)
        repo.object_store.add_object(root)
        commit = Commit()
        commit.tree = root.id
        commit.parents = [base.id]
        commit.author = commit.committer = b"Test <test@example.com>"
        commit.author_time = commit.commit_time = base.commit_time + 1
        commit.author_timezone = commit.commit_timezone = 0
        commit.message = b"deep\n"
        repo.object_store.add_object(commit)
        return commit.id.decode()
    finally:
        repo.close()


def test_absurdly_deep_trees_are_refused(hub_server, owner, git_env, tmp_path):
    repo, work = _fresh_clone(hub_server, owner[1], git_env, tmp_path)
    before = head(work, git_env)
    commit = _deep_tree_commit(work, 4100)
    push = git("push", "origin", f"{commit}:refs/heads/main", cwd=work, env=git_env, check=False)
    assert push.returncode != 0
    assert "deep" in push.stderr.lower(), push.stderr
    assert _main(hub_server, repo, git_env, owner[1]) == before
    assert not server_has_object(hub_server, commit)
    # Ordinary nesting is fine.
    git("reset", "-q", "--hard", before, cwd=work, env=git_env)
    ok = _deep_tree_commit(work, 50)
    git("push", "origin", f"{ok}:refs/heads/main", cwd=work, env=git_env)
