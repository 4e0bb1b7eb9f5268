"""The like button and the repo settings page (visibility, gating, rename, delete)."""

from __future__ import annotations

import pytest
from django.test import Client

from orgs.models import User
from orgs.services import user_create
from repos.models import Like, Repo, RepoRedirect
from repos.services import repo_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


@pytest.fixture
def owner() -> User:
    return user_create(username="Owner", password="correct-horse-1")


@pytest.fixture
def reader() -> User:
    return user_create(username="reader", password="correct-horse-1")


@pytest.fixture
def repo(owner: User) -> Repo:
    return repo_create(actor=owner, namespace=None, name="m", kind="model")


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_like_and_unlike_from_the_page(repo: Repo, reader: User) -> None:
    client = _client(reader)
    assert client.post("/Owner/m/like", {"action": "like"}).status_code == 302
    assert Like.objects.filter(repo=repo, user=reader).exists()
    page = client.get("/Owner/m").content.decode()
    assert 'value="unlike"' in page
    client.post("/Owner/m/like", {"action": "unlike"})
    assert not Like.objects.filter(repo=repo, user=reader).exists()
    assert client.get("/Owner/m/like").status_code == 405  # GET never changes state


def test_like_needs_sign_in(repo: Repo, client: Client) -> None:
    response = client.post("/Owner/m/like", {"action": "like"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login")
    assert not Like.objects.exists()


def test_settings_are_for_admins_only(repo: Repo, reader: User, client: Client) -> None:
    assert _client(reader).get("/Owner/m/settings").status_code == 404
    assert "Settings" not in _client(reader).get("/Owner/m").content.decode()
    assert client.get("/Owner/m/settings").status_code == 302  # sign in first
    assert (
        _client(reader)
        .post("/Owner/m/settings", {"form": "delete", "confirm": "Owner/m"})
        .status_code
        == 404
    )
    assert Repo.objects.filter(pk=repo.pk).exists()


def test_visibility_and_gating(repo: Repo, owner: User) -> None:
    client = _client(owner)
    response = client.post(
        "/Owner/m/settings", {"form": "visibility", "visibility": "private", "gated": "manual"}
    )
    assert response.status_code == 302
    repo.refresh_from_db()
    assert repo.private is True
    assert repo.gated == "manual"
    client.post("/Owner/m/settings", {"form": "visibility", "visibility": "public", "gated": "off"})
    repo.refresh_from_db()
    assert (repo.private, repo.gated) == (False, "")


def test_rename_keeps_a_redirect(repo: Repo, owner: User) -> None:
    client = _client(owner)
    response = client.post("/Owner/m/settings", {"form": "rename", "new_id": "Owner/m2"})
    assert response.status_code == 302
    assert response["Location"] == "/Owner/m2/settings"
    repo.refresh_from_db()
    assert repo.name == "m2"
    assert RepoRedirect.objects.filter(full_name="Owner/m", repo=repo).exists()
    bad = client.post("/Owner/m2/settings", {"form": "rename", "new_id": "Owner/bad--name"})
    assert bad.status_code == 200
    assert "Invalid repo name" in bad.content.decode()


def test_delete_needs_the_exact_name(repo: Repo, owner: User) -> None:
    client = _client(owner)
    wrong = client.post("/Owner/m/settings", {"form": "delete", "confirm": "m"})
    assert wrong.status_code == 200
    assert "Type Owner/m to confirm" in wrong.content.decode()
    assert Repo.objects.filter(pk=repo.pk).exists()
    done = client.post("/Owner/m/settings", {"form": "delete", "confirm": "Owner/m"})
    assert done.status_code == 302
    assert done["Location"] == "/Owner"
    assert not Repo.objects.filter(pk=repo.pk).exists()


def test_writers_create_and_delete_branches_and_tags(repo: Repo, owner: User) -> None:
    from repos.git.store import git_store

    client = _client(owner)
    made = client.post(
        "/Owner/m/refs",
        {"form": "create-branch", "branch-name": "feature/x", "branch-start": "main"},
    )
    assert made.status_code == 302
    tagged = client.post(
        "/Owner/m/refs",
        {"form": "create-tag", "tag-name": "v1", "tag-start": "main", "tag-message": "first"},
    )
    assert tagged.status_code == 302
    refs = git_store().refs(repo.storage_key)
    assert "refs/heads/feature/x" in refs
    assert "refs/tags/v1" in refs
    page = client.get("/Owner/m/refs").content.decode()
    assert "feature/x" in page
    assert "v1" in page
    taken = client.post("/Owner/m/refs", {"form": "create-branch", "branch-name": "main"})
    assert taken.status_code == 200
    assert "already exists" in taken.content.decode()
    main_gone = client.post("/Owner/m/refs", {"form": "delete-branch", "name": "main"})
    assert "Cannot delete refs/heads/main" in main_gone.content.decode()
    client.post("/Owner/m/refs", {"form": "delete-branch", "name": "feature/x"})
    client.post("/Owner/m/refs", {"form": "delete-tag", "name": "v1"})
    refs = git_store().refs(repo.storage_key)
    assert "refs/heads/feature/x" not in refs
    assert "refs/tags/v1" not in refs


def test_readers_cannot_change_refs(repo: Repo, reader: User) -> None:
    from repos.git.store import git_store

    client = _client(reader)
    page = client.get("/Owner/m/refs").content.decode()
    assert "Create branch" not in page
    response = client.post("/Owner/m/refs", {"form": "create-branch", "branch-name": "x"})
    assert response.status_code == 200
    assert "refs/heads/x" not in git_store().refs(repo.storage_key)


def test_upload_files_in_the_browser(repo: Repo, owner: User, reader: User) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from repos.files import file_entry
    from repos.git.store import git_store

    client = _client(owner)
    tree = client.get("/Owner/m/tree/main").content.decode()
    assert "Upload files" in tree
    weights = b"\x00\x01" * 5000
    response = client.post(
        "/Owner/m/upload",
        {
            "branch": "main",
            "folder": "sub",
            "summary": "Add files",
            "description": "",
            "files": [
                SimpleUploadedFile("notes.txt", b"hello\n"),
                SimpleUploadedFile("model.bin", weights),
            ],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/Owner/m/tree/main/sub"
    head = git_store().resolve(repo.storage_key, "main")
    notes = file_entry(repo, commit=head, path="sub/notes.txt")
    model = file_entry(repo, commit=head, path="sub/model.bin")
    assert notes is not None
    assert notes.lfs is None
    assert model is not None
    assert model.lfs is not None  # *.bin goes to LFS, as the default .gitattributes says
    assert model.lfs.size == len(weights)
    bad = client.post(
        "/Owner/m/upload",
        {
            "branch": "main",
            "folder": "../x",
            "summary": "x",
            "files": [SimpleUploadedFile("a.txt", b"a")],
        },
    )
    assert bad.status_code == 200
    assert "Invalid path" in bad.content.decode()
    assert git_store().resolve(repo.storage_key, "main") == head
    assert _client(reader).get("/Owner/m/upload").status_code == 404
