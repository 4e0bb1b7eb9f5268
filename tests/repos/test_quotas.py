"""Storage usage and quotas, in process: counting (git + LFS deduplicated per namespace),
refusals at every door before bytes are stored, the usage API and pages, quota changes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from common.errors import (
    InsufficientStorageError,
    PermissionDeniedError,
    ValidationError,
)
from common.sizes import format_bytes, parse_size
from orgs.models import AuditEvent, Namespace, User
from orgs.org_services import member_add, org_create
from orgs.services import token_create, user_create
from orgs.tokens import parse_scope
from repos.commits import AddFile, AddLfsFile, PreuploadFile, commit_create, preupload_plan
from repos.git.store import git_store
from repos.lfs.store import Oid, object_store
from repos.models import LfsObject, NamespaceQuota, NamespaceUsage, Repo, RepoKind, RepoUsage
from repos.quotas import (
    DEFAULT,
    lfs_batch_refusal,
    lfs_usage_recount,
    namespace_quota,
    namespace_usage,
    objects_dir_size,
    parse_quota,
    push_require,
    quota_set,
    repo_storage_list,
    repo_usage_refresh,
    usage_sweep,
)
from repos.services import lfs_link, repo_create, repo_delete, repo_move

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]
MIB = 1024 * 1024


@pytest.fixture
def alice() -> User:
    return user_create(username="alice", password=None)


@pytest.fixture
def bob() -> User:
    return user_create(username="bob", password=None)


@pytest.fixture
def root() -> User:
    return user_create(username="root", password=None, is_admin=True)


def _repo(user: User, name: str, namespace: str | None = None) -> Repo:
    return repo_create(actor=user, namespace=namespace, name=name, kind=RepoKind.MODEL)


def _lfs(repo: Repo, data: bytes) -> str:
    """Store `data` as an LFS object and link it to `repo`, as a verified upload does."""
    oid = hashlib.sha256(data).hexdigest()
    if object_store().size(Oid(oid)) != len(data):
        object_store().put(Oid(oid), len(data), iter([data]))
    lfs_link(repo=repo, oid=oid, size=len(data))
    return oid


def _quota(user_or_name: User | str, value: int | str | None) -> None:
    name = user_or_name if isinstance(user_or_name, str) else user_or_name.username
    quota_set(actor=None, namespace=name, quota=value)


def _ns(user: User) -> Namespace:
    return Namespace.objects.get(pk=user.namespace_id)


def _commit(user: User, repo: Repo, path: str, content: bytes) -> str:
    """Commit one regular file on main through the commit service; returns the commit id."""
    return commit_create(
        actor=user, repo=repo, revision="main", operations=[AddFile(path, content)], summary="add"
    ).oid


def _git_size(repo: Repo) -> int:
    return objects_dir_size(git_store().path(repo.storage_key) / "objects")


# --- sizes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("1234", 1234),
        ("10GiB", 10 * 1024**3),
        ("1.5 GB", 1_500_000_000),
        ("500MB", 500_000_000),
        ("500m", 500 * MIB),
        ("2 KiB", 2048),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "ten", "-5", "5 parsecs", "1e9", "9" * 40])
def test_parse_size_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_size(text)


def test_format_bytes() -> None:
    assert format_bytes(None) == "unlimited"
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(10 * 1024**3) == "10.0 GiB"


def test_parse_quota_words() -> None:
    assert parse_quota("unlimited") is None
    assert parse_quota(0) is None
    assert parse_quota(None) is None
    assert parse_quota("default") == DEFAULT
    assert parse_quota("1GiB") == 1024**3
    assert parse_quota(5000) == 5000
    for bad in (-1, True, [1], "lots"):
        with pytest.raises(ValidationError):
            parse_quota(bad)


# --- counting ---------------------------------------------------------------------------------


def test_git_bytes_are_the_objects_on_disk_and_grow_with_commits(alice: User) -> None:
    repo = _repo(alice, "m")
    first = repo_usage_refresh(repo_id=repo.pk)
    objects = git_store().path(repo.storage_key) / "objects"
    assert first == objects_dir_size(objects) > 0  # the initial commit's .gitattributes
    _commit(alice, repo, "weights.txt", b"x" * 50_000 + b"y")
    second = repo_usage_refresh(repo_id=repo.pk)
    assert second is not None
    assert second > first
    assert RepoUsage.objects.get(repo=repo).git_bytes == second


def test_objects_dir_size_counts_loose_and_packs_only(tmp_path: Path) -> None:
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / ("c" * 38)).write_bytes(b"1" * 100)
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "pack-1.pack").write_bytes(b"2" * 1000)
    (tmp_path / "pack" / "pack-1.idx").write_bytes(b"3" * 10)
    (tmp_path / "info").mkdir()
    (tmp_path / "info" / "packs").write_bytes(b"4" * 5000)  # metadata, not objects
    assert objects_dir_size(tmp_path) == 1110
    assert objects_dir_size(tmp_path / "missing") == 0


def test_same_lfs_object_in_two_repos_of_a_namespace_counts_once(alice: User, bob: User) -> None:
    one, two = _repo(alice, "one"), _repo(alice, "two")
    data = b"shared weights " * 1000
    _lfs(one, data)
    _lfs(two, data)
    _lfs(two, b"only in two" * 100)
    usage = namespace_usage(namespace=_ns(alice))
    assert usage.lfs_bytes == len(data) + 1100
    # ... while each repo's own figure counts what it holds.
    rows = {r.repo.name: r for r in repo_storage_list(namespace=_ns(alice))}
    assert rows["one"].lfs_bytes == len(data)
    assert rows["two"].lfs_bytes == len(data) + 1100
    # The same object in another namespace counts there too, and nothing changes here.
    _lfs(_repo(bob, "copy"), data)
    assert namespace_usage(namespace=_ns(bob)).lfs_bytes == len(data)
    assert namespace_usage(namespace=_ns(alice)).lfs_bytes == len(data) + 1100


def _stored_lfs(user_or_ns: User | Namespace) -> int:
    ns = user_or_ns if isinstance(user_or_ns, Namespace) else _ns(user_or_ns)
    return NamespaceUsage.objects.get(namespace=ns).lfs_bytes


def test_kept_lfs_figure_follows_links_deletes_and_transfers_exactly(alice: User) -> None:
    org = org_create(actor=alice, name="acme")
    namespace_usage(namespace=_ns(alice))  # counted once: from now on kept current
    namespace_usage(namespace=org.namespace)
    a, b, c = _repo(alice, "a"), _repo(alice, "b"), _repo(alice, "c")
    shared, only_b, only_c = b"s" * 3000, b"b" * 500, b"c" * 700
    for repo, data in ((a, shared), (b, shared), (b, only_b), (c, shared), (c, only_c)):
        _lfs(repo, data)
        _lfs(repo, data)  # linking twice changes nothing
    assert _stored_lfs(alice) == 4200
    repo_delete(actor=alice, repo=a)  # `shared` is still in b and c
    assert _stored_lfs(alice) == 4200
    repo_move(actor=alice, repo=c, to_namespace="acme", to_name="c")
    assert _stored_lfs(alice) == 3500  # only_c left; shared stays (b holds it)
    assert _stored_lfs(org.namespace) == 3700  # shared and only_c arrived
    repo_delete(actor=alice, repo=b)
    assert _stored_lfs(alice) == 0
    for ns in (_ns(alice), org.namespace):  # the kept figure is the exact count
        assert _stored_lfs(ns) == lfs_usage_recount(namespace_id=ns.pk)


def test_transfer_into_a_namespace_without_room_is_refused(alice: User) -> None:
    org = org_create(actor=alice, name="acme")
    repo = _repo(alice, "m")
    shared = b"s" * 40_000
    _lfs(repo, shared)
    _lfs(repo, b"new to acme" * 1000)
    _lfs(_repo(alice, "already", namespace="acme"), shared)
    _quota("acme", namespace_usage(namespace=org.namespace).used_bytes + 5000)
    with pytest.raises(InsufficientStorageError, match="moving alice/m there needs") as refused:
        repo_move(actor=alice, repo=repo, to_namespace="acme", to_name="m")
    # What acme holds already (`shared`) is not counted again: the git objects and 11,000 bytes.
    git = RepoUsage.objects.get(repo=repo).git_bytes
    assert format_bytes(git + 11_000) in refused.value.message
    assert Repo.objects.get(pk=repo.pk).owner_id == alice.namespace_id
    _quota("acme", DEFAULT)
    repo_move(actor=alice, repo=repo, to_namespace="acme", to_name="m")  # unlimited: fine


def test_sweep_recounts_a_drifted_lfs_figure(alice: User) -> None:
    _lfs(_repo(alice, "m"), b"x" * 1234)
    assert namespace_usage(namespace=_ns(alice)).lfs_bytes == 1234
    NamespaceUsage.objects.filter(namespace=_ns(alice)).update(lfs_bytes=99)  # a lost race
    assert usage_sweep() == 0  # counted just now: not due yet
    from datetime import timedelta

    assert usage_sweep(older_than=timedelta(0)) >= 1
    assert _stored_lfs(alice) == 1234


def test_usage_sums_git_and_lfs_and_measures_unmeasured_repos(alice: User) -> None:
    repo = _repo(alice, "m")
    RepoUsage.objects.filter(repo=repo).delete()  # as a repo from before quotas existed
    _lfs(repo, b"z" * 4096)
    usage = namespace_usage(namespace=_ns(alice))
    git = _git_size(repo)
    assert usage.git_bytes == git > 0
    assert usage.used_bytes == git + 4096
    assert RepoUsage.objects.filter(repo=repo).exists()


def test_usage_decreases_after_repo_delete(alice: User) -> None:
    keep, doomed = _repo(alice, "keep"), _repo(alice, "doomed")
    _lfs(keep, b"k" * 1000)
    _lfs(doomed, b"d" * 50_000)
    _lfs(doomed, b"k" * 1000)  # shared with `keep`: still counted after the delete
    before = namespace_usage(namespace=_ns(alice))
    repo_delete(actor=alice, repo=doomed)
    after = namespace_usage(namespace=_ns(alice))
    assert after.lfs_bytes == 1000
    assert after.git_bytes < before.git_bytes
    assert after.used_bytes < before.used_bytes - 50_000


def test_sweep_measures_missing_and_stale_figures(alice: User) -> None:
    repo = _repo(alice, "m")
    RepoUsage.objects.filter(repo=repo).delete()
    assert usage_sweep() >= 1
    assert RepoUsage.objects.filter(repo=repo).exists()
    assert usage_sweep() == 0  # fresh now


def test_push_and_commit_events_queue_a_measure(
    alice: User, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        repo = _repo(alice, "m")
    RepoUsage.objects.filter(repo=repo).update(git_bytes=1)
    with django_capture_on_commit_callbacks(execute=True):
        _commit(alice, repo, "a.txt", b"a" * 10_000)
    measured = RepoUsage.objects.get(repo=repo).git_bytes
    assert measured == _git_size(repo) > 1


# --- quotas -----------------------------------------------------------------------------------


def test_default_quotas_come_from_settings_and_overrides_win(alice: User, settings) -> None:  # type: ignore[no-untyped-def]
    org = org_create(actor=alice, name="acme")
    settings.QUOTA_USER_BYTES = 1000
    settings.QUOTA_ORG_BYTES = 0
    assert namespace_quota(namespace=_ns(alice)).bytes == 1000
    assert namespace_quota(namespace=org.namespace).bytes is None  # 0: unlimited
    _quota(alice, 5 * MIB)
    assert namespace_quota(namespace=_ns(alice)).bytes == 5 * MIB
    assert namespace_quota(namespace=_ns(alice)).source == "override"
    _quota(alice, None)
    assert namespace_quota(namespace=_ns(alice)).bytes is None  # unlimited override
    _quota(alice, DEFAULT)
    assert namespace_quota(namespace=_ns(alice)).source == "default"
    assert not NamespaceQuota.objects.exists()


def test_quota_change_is_audited_and_site_admins_only(alice: User, root: User) -> None:
    with pytest.raises(PermissionDeniedError):
        quota_set(actor=alice, namespace="alice", quota=10**12)
    quota_set(actor=root, namespace="alice", quota=10 * MIB)
    event = AuditEvent.objects.get(verb="quota.set")
    assert event.actor_name == "root"
    assert event.namespace_name == "alice"
    assert event.details == {
        "old": None,
        "oldSource": "default",
        "new": 10 * MIB,
        "source": "override",
    }
    assert NamespaceQuota.objects.get(namespace=_ns(alice)).set_by == root


def test_commit_over_quota_is_refused_before_writing(alice: User) -> None:
    repo = _repo(alice, "m")
    used = namespace_usage(namespace=_ns(alice)).used_bytes
    _quota(alice, used + 10_000)
    head = git_store().resolve(repo.storage_key, "main")
    objects = _git_size(repo)
    with pytest.raises(InsufficientStorageError) as refused:
        _commit(alice, repo, "big.txt", b"b" * 20_000)
    assert refused.value.status == 507
    assert "Storage quota exceeded for alice" in refused.value.message
    assert git_store().resolve(repo.storage_key, "main") == head
    assert _git_size(repo) == objects
    # Something that fits goes through; deleting files and LFS pointers cost nothing here.
    _commit(alice, repo, "small.txt", b"s" * 1000)


def test_recommitting_existing_content_is_not_counted(alice: User) -> None:
    repo = _repo(alice, "m")
    content = b"c" * 30_000
    _commit(alice, repo, "a.txt", content)
    repo_usage_refresh(repo_id=repo.pk)
    _quota(alice, namespace_usage(namespace=_ns(alice)).used_bytes + 1000)
    # The same bytes under another name: the blob is in the repo already.
    _commit(alice, repo, "b.txt", content)
    with pytest.raises(InsufficientStorageError):  # other bytes of the same size are new
        _commit(alice, repo, "c.txt", b"d" * 30_000)


def test_preupload_refuses_what_does_not_fit_and_ignores_unchanged_files(alice: User) -> None:
    repo = _repo(alice, "m")
    data = b"w" * 5000
    oid = _lfs(repo, data)
    commit_create(
        actor=alice,
        repo=repo,
        revision="main",
        operations=[AddLfsFile("w.bin", oid, len(data))],
        summary="lfs",
    )
    _quota(alice, namespace_usage(namespace=_ns(alice)).used_bytes + 1000)
    big = [PreuploadFile(path="new.bin", size=2 * MIB, sample=b"\0")]
    with pytest.raises(InsufficientStorageError):
        preupload_plan(actor=alice, repo=repo, revision="main", files=big)
    # The same size at the same path: most likely unchanged, the client will skip it.
    same = [PreuploadFile(path="w.bin", size=len(data), sample=b"\0")]
    (answer,) = preupload_plan(actor=alice, repo=repo, revision="main", files=same)
    assert answer.oid == oid


def test_lfs_batch_refusal_counts_only_objects_new_to_the_namespace(alice: User) -> None:
    one, two = _repo(alice, "one"), _repo(alice, "two")
    shared = b"s" * 100_000
    shared_oid = _lfs(one, shared)
    _quota(alice, namespace_usage(namespace=_ns(alice)).used_bytes + 1000)
    # Linked to another repo of the namespace already: storing it in `two` adds nothing.
    assert lfs_batch_refusal(repo=two, objects={shared_oid: len(shared)}) is None
    new_oid = "a" * 64
    refusal = lfs_batch_refusal(repo=two, objects={shared_oid: len(shared), new_oid: 5000})
    assert refusal is not None
    refused, message = refusal
    assert refused == {new_oid}
    assert "this upload of 1 LFS file needs 4.9 KiB more" in message


def test_push_quarantine_over_quota_is_refused(alice: User, tmp_path: Path) -> None:
    repo = _repo(alice, "m")
    quarantine = tmp_path / "incoming"
    (quarantine / "pack").mkdir(parents=True)
    (quarantine / "pack" / "pack-x.pack").write_bytes(b"p" * 30_000)
    _quota(alice, namespace_usage(namespace=_ns(alice)).used_bytes + 20_000)
    with pytest.raises(InsufficientStorageError, match=r"this push needs 29\.3 KiB more"):
        push_require(repo=repo, quarantine=str(quarantine))
    push_require(repo=repo, quarantine=None)  # nothing received (a delete): always fine
    _quota(alice, DEFAULT)  # unlimited by default
    push_require(repo=repo, quarantine=str(quarantine))


# --- HTTP: LFS batch, commit API, usage API, pages -------------------------------------------


def _client(user: User, role: str = "write") -> Client:
    token = token_create(user=user, name="t", role=role)[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_lfs_batch_answers_a_507_error_per_object(alice: User) -> None:
    repo = _repo(alice, "m")
    present = _lfs(repo, b"here already" * 10)
    _quota(alice, namespace_usage(namespace=_ns(alice)).used_bytes + 1000)
    body = {
        "operation": "upload",
        "objects": [
            {"oid": "b" * 64, "size": 600},
            {"oid": "c" * 64, "size": 600},
            {"oid": present, "size": 120},
        ],
    }
    r = _client(alice).post(
        f"/{repo.full_name}.git/info/lfs/objects/batch",
        json.dumps(body),
        content_type="application/vnd.git-lfs+json",
    )
    assert r.status_code == 200
    objects = {o["oid"]: o for o in r.json()["objects"]}
    for oid in ("b" * 64, "c" * 64):  # together they do not fit (each alone would)
        assert objects[oid]["error"]["code"] == 507
        assert "Storage quota exceeded for alice" in objects[oid]["error"]["message"]
        assert "actions" not in objects[oid]
    assert "error" not in objects[present]  # nothing to store: no refusal
    body["objects"] = body["objects"][:1]
    r = _client(alice).post(
        f"/{repo.full_name}.git/info/lfs/objects/batch",
        json.dumps(body),
        content_type="application/vnd.git-lfs+json",
    )
    assert "upload" in r.json()["objects"][0]["actions"]


def test_lfs_put_with_an_old_link_is_refused_when_the_quota_shrank(alice: User) -> None:
    repo = _repo(alice, "m")
    data = b"q" * 3000
    oid = hashlib.sha256(data).hexdigest()
    body = {"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]}
    r = _client(alice).post(
        f"/{repo.full_name}.git/info/lfs/objects/batch",
        json.dumps(body),
        content_type="application/vnd.git-lfs+json",
    )
    href = r.json()["objects"][0]["actions"]["upload"]["href"]
    _quota(alice, namespace_usage(namespace=_ns(alice)).used_bytes + 100)
    put = Client().put(
        href.replace("http://testserver", ""), data, content_type="application/octet-stream"
    )
    assert put.status_code == 507
    assert object_store().size(Oid(oid)) is None
    assert not LfsObject.objects.filter(oid=oid).exists()


def test_commit_api_answers_507_with_the_message(alice: User) -> None:
    repo = _repo(alice, "m")
    _quota(alice, namespace_usage(namespace=_ns(alice)).used_bytes + 10)
    lines = [
        {"key": "header", "value": {"summary": "big"}},
        {"key": "file", "value": {"path": "a.txt", "content": "a" * 5000, "encoding": "utf-8"}},
    ]
    body = "\n".join(json.dumps(line) for line in lines)
    r = _client(alice).post(
        f"/api/models/{repo.full_name}/commit/main", body, content_type="application/x-ndjson"
    )
    assert r.status_code == 507
    assert r["X-Error-Code"] == "StorageQuotaExceeded"
    assert "Storage quota exceeded for alice" in r.json()["error"]
    assert r["X-Error-Message"].startswith("Storage quota exceeded")


def test_usage_api_for_self_org_admins_and_site_admins(alice: User, bob: User, root: User) -> None:
    org = org_create(actor=alice, name="acme")
    member_add(actor=alice, org=org, user=bob, role="write")
    repo = _repo(alice, "m", namespace="acme")
    _lfs(repo, b"o" * 2048)
    _quota("acme", 10 * MIB)
    r = _client(alice, "read").get("/api/organizations/acme/usage")
    assert r.status_code == 200
    doc = r.json()
    assert doc["name"] == "acme"
    assert doc["type"] == "org"
    assert doc["lfsBytes"] == 2048
    assert doc["usedBytes"] == doc["gitBytes"] + 2048
    assert doc["quotaBytes"] == 10 * MIB
    assert doc["quotaSource"] == "override"
    assert doc["repos"][0]["id"] == "acme/m"
    assert _client(bob).get("/api/organizations/acme/usage").status_code == 403  # not admin
    assert _client(root).get("/api/organizations/acme/usage").status_code == 200
    assert Client().get("/api/organizations/acme/usage").status_code == 401
    assert _client(alice).get("/api/organizations/nope/usage").status_code == 404
    assert _client(alice).get("/api/organizations/alice/usage").status_code == 404  # a user
    assert _client(bob).get("/api/users/bob/usage").json()["quotaBytes"] is None
    assert _client(bob).get("/api/users/alice/usage").status_code == 403


def test_usage_api_needs_a_namespace_scope_on_fine_grained_tokens(alice: User) -> None:
    _repo(alice, "secret")
    for scope, status in (
        ("model:alice/secret:repo.content.read", 403),
        ("user:alice:repo.content.read", 200),
    ):
        token = token_create(
            user=alice, name="fg", role="fineGrained", scopes=[parse_scope(scope)]
        )[1]
        r = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/users/alice/usage")
        assert r.status_code == status, r.content


def test_admin_quota_api(alice: User, root: User) -> None:
    admin = _client(root)
    r = admin.put("/api/admin/quotas/alice", {"quota": "2GiB"}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["quotaBytes"] == 2 * 1024**3
    assert admin.get("/api/admin/quotas/ALICE").json()["quotaSource"] == "override"
    r = admin.put("/api/admin/quotas/alice", {"quota": "lots"}, content_type="application/json")
    assert r.status_code == 422
    assert "Invalid size" in r.json()["error"]
    assert (
        admin.put(
            "/api/admin/quotas/ghost", {"quota": 5}, content_type="application/json"
        ).status_code
        == 404
    )
    assert admin.delete("/api/admin/quotas/alice").json()["quotaSource"] == "default"
    for client, status in ((_client(alice), 403), (Client(), 401), (_client(root, "read"), 403)):
        r = client.put("/api/admin/quotas/alice", {"quota": 1}, content_type="application/json")
        assert r.status_code == status
    assert client.get("/api/admin/quotas/alice").status_code in (401, 403)
    assert AuditEvent.objects.filter(verb="quota.set").count() == 2


def test_list_user_repos_shape(alice: User) -> None:
    repo = _repo(alice, "m")
    _lfs(repo, b"l" * 1000)
    _repo(alice, "empty")
    r = _client(alice).get("/api/settings/repositories")
    assert r.status_code == 200
    rows = {row["id"]: row for row in r.json()}
    assert set(rows) == {"alice/m", "alice/empty"}
    assert rows["alice/m"]["storage"] > 1000
    assert rows["alice/m"]["visibility"] == "public"
    assert rows["alice/m"]["type"] == "model"
    total = sum(row["storagePercent"] for row in rows.values())
    assert 99 <= total <= 101


def test_usage_pages(alice: User, bob: User, root: User, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    org = org_create(actor=alice, name="acme")
    member_add(actor=alice, org=org, user=bob, role="write")
    _lfs(_repo(alice, "big", namespace="acme"), b"B" * 5000)
    _quota("acme", 1 * MIB)
    page = Client()
    page.force_login(alice)
    with django_assert_max_num_queries(30):
        r = page.get("/organizations/acme/settings/usage")
    html = r.content.decode()
    assert r.status_code == 200
    assert "1.0 MiB" in html
    assert 'data-repo="acme/big"' in html
    assert "<meter" in html
    assert 'href="/organizations/acme/settings/usage"' in html  # the Usage tab
    assert page.get("/settings/usage").status_code == 200
    bob_page = Client()
    bob_page.force_login(bob)
    assert bob_page.get("/organizations/acme/settings/usage").status_code == 404
    assert bob_page.get("/_/quotas").status_code == 404
    admin = Client()
    admin.force_login(root)
    r = admin.post("/_/quotas", {"name": "bob", "quota": "3 MiB"})
    assert r.status_code == 302
    assert namespace_quota(namespace=_ns(bob)).bytes == 3 * MIB
    r = admin.post("/_/quotas/bob", {"quota": "nonsense"})
    assert r.status_code == 200
    assert "Invalid size" in r.content.decode()
    assert "bob" in admin.get("/_/quotas").content.decode()


def test_quota_cli(alice: User, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("quota", "set", "alice", "50MB")
    assert namespace_quota(namespace=_ns(alice)).bytes == 50_000_000
    assert AuditEvent.objects.filter(verb="quota.set", namespace_name="alice").exists()
    _repo(alice, "m")
    call_command("quota", "show", "alice")
    call_command("quota", "refresh")
    out = capsys.readouterr().out
    assert "Quota of alice: 47.7 MiB (override)" in out
    assert "alice/m" in out
    assert "Measured 1 repos, LFS counted again." in out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user or organization named ghost"):
        call_command("quota", "set", "ghost", "1GB")
    with pytest.raises(CommandError, match="Invalid size"):
        call_command("quota", "set", "alice", "plenty")


def test_browser_upload_over_quota_shows_the_error(alice: User) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    repo = _repo(alice, "m")
    _quota(alice, namespace_usage(namespace=_ns(alice)).used_bytes + 1000)
    page = Client()
    page.force_login(alice)
    head = git_store().resolve(repo.storage_key, "main")
    weights = SimpleUploadedFile("weights.bin", b"\0" * 50_000)
    r = page.post(
        f"/{repo.full_name}/upload",
        {"branch": "main", "folder": "", "summary": "Upload files", "files": [weights]},
    )
    assert r.status_code == 200
    assert "Storage quota exceeded for alice" in r.content.decode()
    assert git_store().resolve(repo.storage_key, "main") == head
    assert not LfsObject.objects.exists()


def test_an_account_without_a_namespace_has_no_usage_page() -> None:
    loner = User.objects.create(username="made-by-createsuperuser")
    page = Client()
    page.force_login(loner)
    assert page.get("/settings/usage").status_code == 404
    assert _client(loner).get("/api/settings/repositories").json() == []
