"""The Community tab: list with filters, new discussion form, conversation with comments,
close/reopen, a PR's files and merge, and who sees and may do what."""

from __future__ import annotations

import pytest
from django.test import Client

from orgs.models import User
from orgs.services import user_create
from repos.commits import AddFile, commit_create
from repos.discussions import discussion_create
from repos.git.store import git_store
from repos.models import Discussion, Repo
from repos.services import repo_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


@pytest.fixture
def alice() -> User:
    return user_create(username="alice", password="correct-horse-1")


@pytest.fixture
def bob() -> User:
    return user_create(username="bob", password="correct-horse-1")


@pytest.fixture
def repo(alice: User) -> Repo:
    return repo_create(actor=alice, namespace="alice", name="bert", kind="model")


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_community_tab_lists_and_filters(alice: User, bob: User, repo: Repo) -> None:
    discussion_create(actor=bob, repo=repo, title="How to fine-tune?")
    discussion_create(actor=alice, repo=repo, title="Add a tokenizer", pull_request=True)
    page = _client(None).get("/alice/bert/discussions")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Community" in html
    assert "How to fine-tune?" in html
    assert "Add a tokenizer" in html
    assert "Sign in to start a discussion" in html
    prs = _client(None).get("/alice/bert/discussions?type=pull_request").content.decode()
    assert "Add a tokenizer" in prs
    assert "How to fine-tune?" not in prs
    closed = _client(None).get("/alice/bert/discussions?status=closed").content.decode()
    assert "How to fine-tune?" not in closed
    found = _client(None).get("/alice/bert/discussions?status=all&search=tokenizer")
    assert "How to fine-tune?" not in found.content.decode()


def test_a_reader_opens_a_discussion_and_comments(alice: User, bob: User, repo: Repo) -> None:
    client = _client(bob)
    bad = client.post("/alice/bert/discussions/new", {"title": "x"})
    assert bad.status_code == 200
    assert Discussion.objects.count() == 0
    created = client.post(
        "/alice/bert/discussions/new", {"title": "Question", "description": "**bold** <script>"}
    )
    assert created["Location"] == "/alice/bert/discussions/1"
    page = client.get("/alice/bert/discussions/1").content.decode()
    assert "<strong>bold</strong>" in page
    assert "<script>" not in page.split("</header>", 1)[1].split("<footer", 1)[0]
    assert 'value="close"' in page  # the author may close it
    assert 'value="merge"' not in page
    client.post("/alice/bert/discussions/1", {"action": "comment", "comment": "More details"})
    client.post("/alice/bert/discussions/1", {"action": "close"})
    discussion = Discussion.objects.get(num=1)
    assert discussion.status == "closed"
    assert [e.type for e in discussion.events.all()] == ["comment", "comment", "status-change"]
    carol = user_create(username="carol", password="correct-horse-1")
    _client(carol).post("/alice/bert/discussions/1", {"action": "reopen"})
    assert Discussion.objects.get(num=1).status == "closed"  # not hers to reopen


def test_pr_files_and_merge_button_for_writers(alice: User, bob: User, repo: Repo) -> None:
    result = commit_create(
        actor=bob,
        repo=repo,
        revision="main",
        operations=[AddFile("notes.txt", b"hello\nworld\n")],
        summary="Add notes",
        create_pr=True,
    )
    files = _client(None).get("/alice/bert/discussions/1/files").content.decode()
    assert "notes.txt" in files
    assert "+world" in files
    assert 'value="merge"' not in _client(bob).get("/alice/bert/discussions/1").content.decode()
    owner_page = _client(alice).get("/alice/bert/discussions/1").content.decode()
    assert 'value="merge"' in owner_page
    merged = _client(alice).post("/alice/bert/discussions/1", {"action": "merge"})
    assert merged.status_code == 302
    assert git_store().resolve(repo.storage_key, "main") == result.oid
    page = _client(alice).get("/alice/bert/discussions/1").content.decode()
    assert 'data-status="merged"' in page
    assert "notes.txt" in _client(None).get("/alice/bert/discussions/1/files").content.decode()


def test_private_repo_community_is_404_for_outsiders(alice: User, bob: User) -> None:
    repo = repo_create(actor=alice, namespace="alice", name="secret", kind="model", private=True)
    discussion_create(actor=alice, repo=repo, title="Internal")
    assert _client(bob).get("/alice/secret/discussions").status_code == 404
    assert _client(bob).get("/alice/secret/discussions/1").status_code == 404
    assert _client(bob).post("/alice/secret/discussions/new", {"title": "Hi!"}).status_code == 404
    assert _client(alice).get("/alice/secret/discussions/1").status_code == 200


def test_discussion_page_query_budget(
    alice: User, bob: User, repo: Repo, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    discussion = discussion_create(actor=bob, repo=repo, title="Many comments")
    from repos.discussions import discussion_comment

    for i in range(10):
        discussion_comment(actor=alice, discussion=discussion, comment=f"comment {i}")
    client = _client(alice)
    client.get("/alice/bert/discussions/1")
    with django_assert_max_num_queries(25):
        assert client.get("/alice/bert/discussions/1").status_code == 200
