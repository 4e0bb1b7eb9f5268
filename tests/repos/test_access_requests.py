"""Gated repos: asking, reviewing (contract 1.9 shapes and errors), granting, questions."""

from __future__ import annotations

import pytest
from django.test import Client

from orgs.models import User
from orgs.services import token_create, user_create
from repos.access_requests import gate_questions_set
from repos.models import AccessRequest
from repos.services import repo_create, repo_update_settings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

BASE = "/api/models/owner/g/user-access-request"
FILE = "/owner/g/resolve/main/.gitattributes"


def _api(user: User, role: str = "write") -> Client:
    secret = token_create(user=user, name="t", role=role)[1]
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def owner() -> User:
    return user_create(username="owner", password=None)


@pytest.fixture
def gated(owner: User):  # type: ignore[no-untyped-def]
    repo = repo_create(actor=owner, namespace=None, name="g")
    return repo_update_settings(actor=owner, repo=repo, gated="manual")


def test_manual_request_review_cycle(owner: User, gated) -> None:  # type: ignore[no-untyped-def]
    user_create(username="asker", password=None, email="asker@example.com", fullname="A. Sker")
    asker = _api(User.objects.get(username="asker"))
    boss = _api(owner)
    r = asker.get(FILE)
    assert r.status_code == 403
    assert r["X-Error-Code"] == "GatedRepo"
    assert Client().get(FILE).status_code == 401
    assert asker.post("/api/models/owner/g/ask-access").json()["status"] == "pending"
    assert asker.get(FILE).status_code == 403
    # Only maintainers see and handle requests.
    assert asker.get(f"{BASE}/pending").status_code == 403
    assert _api(owner, "read").get(f"{BASE}/pending").status_code == 403
    pending = boss.get(f"{BASE}/pending").json()
    assert pending == [
        {
            "user": {
                "user": "asker",
                "fullname": "A. Sker",
                "email": "asker@example.com",
                "avatarUrl": "",
                "type": "user",
            },
            "requestId": pending[0]["requestId"],
            "status": "pending",
            "timestamp": pending[0]["timestamp"],
            "fields": None,
        }
    ]
    handle = f"{BASE}/handle"
    ok = boss.post(handle, {"user": "asker", "status": "accepted"}, content_type="application/json")
    assert ok.status_code == 200
    again = boss.post(
        handle, {"user": "asker", "status": "accepted"}, content_type="application/json"
    )
    assert again.status_code == 400
    assert asker.get(FILE).status_code == 200
    r = boss.post(
        handle,
        {"requestId": pending[0]["requestId"], "status": "rejected", "rejectionReason": "no"},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert r.json()["rejectionReason"] == "no"
    assert asker.get(FILE).status_code == 403
    assert boss.get(f"{BASE}/rejected").json()[0]["user"]["user"] == "asker"
    assert (
        boss.post(
            handle, {"user": "asker", "status": "pending"}, content_type="application/json"
        ).status_code
        == 200
    )
    assert (
        boss.post(
            handle, {"user": "asker", "status": "pending"}, content_type="application/json"
        ).status_code
        == 400
    )
    assert (
        boss.post(
            handle, {"user": "nobody", "status": "accepted"}, content_type="application/json"
        ).status_code
        == 404
    )


def test_auto_mode_accepts_at_once_and_questions_are_required(owner: User, gated) -> None:  # type: ignore[no-untyped-def]
    repo_update_settings(actor=owner, repo=gated, gated="auto")
    gate_questions_set(actor=owner, repo=gated, questions=["Company", "Use case", "Company"])
    asker = _api(user_create(username="asker", password=None))
    r = asker.post(
        "/api/models/owner/g/ask-access",
        {"fields": {"Company": "X"}},
        content_type="application/json",
    )
    assert r.status_code == 400
    assert "Use case" in r.json()["error"]
    r = asker.post(
        "/api/models/owner/g/ask-access",
        {"fields": {"Company": "X", "Use case": "research"}},
        content_type="application/json",
    )
    assert r.json()["status"] == "accepted"
    assert r.json()["fields"] == {"Company": "X", "Use case": "research"}
    assert asker.get(FILE).status_code == 200


def test_grant(owner: User, gated) -> None:  # type: ignore[no-untyped-def]
    user_create(username="friend", password=None, email="f@example.com")
    boss = _api(owner)
    r = boss.post(f"{BASE}/grant", {"user": "friend"}, content_type="application/json")
    assert r.status_code == 200
    assert r.json()["status"] == "accepted"
    assert boss.get(f"{BASE}/accepted").json()[0]["user"]["email"] is None
    assert (
        boss.post(f"{BASE}/grant", {"user": "friend"}, content_type="application/json").status_code
        == 400
    )
    assert (
        boss.post(f"{BASE}/grant", {"user": "ghost"}, content_type="application/json").status_code
        == 404
    )
    assert AccessRequest.objects.get(user__username="friend").granted


def test_listing_pages_with_link(owner: User, gated, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from repos.api import access_requests

    monkeypatch.setattr(access_requests, "PAGE_SIZE", 2)
    for i in range(5):
        u = user_create(username=f"u{i}", password=None)
        AccessRequest.objects.create(repo=gated, user=u)
    boss = _api(owner)
    seen, url = [], f"{BASE}/pending"
    while url:
        r = boss.get(url)
        seen += [row["user"]["user"] for row in r.json()]
        link = r.headers.get("Link")
        url = link.split(";")[0].strip("<>").split("127.0.0.1:8000", 1)[-1] if link else None
    assert sorted(seen) == [f"u{i}" for i in range(5)]


def test_page_form_asks_with_csrf(owner: User, gated) -> None:  # type: ignore[no-untyped-def]
    asker = user_create(username="asker", password="correct-horse-1")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(asker)
    assert browser.post("/owner/g/ask-access").status_code == 403  # no CSRF token
    page = browser.get("/owner/g")
    assert b"Request access" in page.content
    token = page.cookies["csrftoken"].value
    r = browser.post("/owner/g/ask-access", {"csrfmiddlewaretoken": token})
    assert r.status_code == 302
    assert AccessRequest.objects.get(user=asker).status == "pending"
    assert b"pending review" in browser.get("/owner/g").content
