"""Credentials: Bearer tokens, Basic with any user name, revocation, and read-only tokens."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from common.errors import AuthenticationError
from orgs.auth import credentials_from_header
from orgs.models import AccessToken
from orgs.services import token_create, token_revoke, user_create
from repos.services import repo_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

WHOAMI = "/api/whoami-v2"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def alice():  # type: ignore[no-untyped-def]
    return user_create(username="Alice", password=None)


@pytest.fixture
def write_token(alice) -> str:  # type: ignore[no-untyped-def]
    return token_create(user=alice, name="w", role="write")[1]


@pytest.fixture
def read_token(alice) -> str:  # type: ignore[no-untyped-def]
    return token_create(user=alice, name="r", role="read")[1]


def test_tokens_are_stored_only_as_a_hash(alice, write_token: str) -> None:  # type: ignore[no-untyped-def]
    assert write_token.startswith("hf_")
    row = AccessToken.objects.get(user=alice, name="w")
    assert row.digest == AccessToken.digest_of(write_token)
    assert write_token not in {row.digest, row.last4, row.name}
    assert row.last4 == write_token[-4:]


def test_bearer_token(client: Client, write_token: str) -> None:
    r = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {write_token}")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "Alice"
    assert body["auth"]["accessToken"]["role"] == "write"
    assert write_token not in r.content.decode()


@pytest.mark.parametrize("username", ["Alice", "x", "__token__", "someone-else", "é"])
def test_basic_with_any_user_name(client: Client, read_token: str, username: str) -> None:
    r = client.get(WHOAMI, HTTP_AUTHORIZATION=_basic(username, read_token))
    assert r.status_code == 200
    assert r.json()["name"] == "Alice"


def test_scheme_is_case_insensitive(client: Client, write_token: str) -> None:
    assert client.get(WHOAMI, HTTP_AUTHORIZATION=f"bearer {write_token}").status_code == 200
    assert client.get(WHOAMI, HTTP_AUTHORIZATION=f"BEARER  {write_token} ").status_code == 200


def test_revoked_token_is_refused(client: Client, alice, write_token: str) -> None:  # type: ignore[no-untyped-def]
    token_id = AccessToken.objects.get(user=alice, name="w").pk
    assert client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {write_token}").status_code == 200
    token_revoke(user=alice, token_id=token_id)
    for header in (f"Bearer {write_token}", _basic("x", write_token)):
        r = client.get(WHOAMI, HTTP_AUTHORIZATION=header)
        assert r.status_code == 401
        assert "WWW-Authenticate" in r


def test_revoked_token_is_refused_by_git_and_lfs_too(
    client: Client, alice, write_token: str
) -> None:  # type: ignore[no-untyped-def]
    repo = repo_create(actor=alice, namespace=None, name="weights", private=True)
    token_revoke(user=alice, token_id=AccessToken.objects.get(user=alice, name="w").pk)
    header = _basic("x", write_token)
    for service in ("git-upload-pack", "git-receive-pack"):
        r = client.get(
            f"/{repo.full_name}.git/info/refs", {"service": service}, HTTP_AUTHORIZATION=header
        )
        assert r.status_code == 401
    r = client.post(
        f"/{repo.full_name}.git/info/lfs/objects/batch",
        {"operation": "download", "objects": []},
        content_type="application/vnd.git-lfs+json",
        HTTP_AUTHORIZATION=header,
    )
    assert r.status_code == 401


def test_inactive_user_is_refused(client: Client, alice, write_token: str) -> None:  # type: ignore[no-untyped-def]
    alice.is_active = False
    alice.save()
    assert client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {write_token}").status_code == 401


def test_wrong_tokens_get_the_same_answer_whatever_they_share(
    client: Client, write_token: str
) -> None:
    guesses = [
        "hf_" + "z" * (len(write_token) - 3),  # shares only the prefix
        write_token[:10] + "z" * (len(write_token) - 10),
        write_token[:30] + "z" * (len(write_token) - 30),
        write_token[:-1] + ("A" if write_token[-1] != "A" else "B"),  # off by one character
        "not-even-a-token",
        write_token + "x",
    ]
    answers = set()
    for guess in guesses:
        for header in (f"Bearer {guess}", _basic("x", guess)):
            r = client.get(WHOAMI, HTTP_AUTHORIZATION=header)
            answers.add((r.status_code, r.content, r.get("X-Error-Message")))
            assert guess not in r.content.decode()
    assert len(answers) == 1
    assert answers.pop()[0] == 401


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"user:").decode(),
        "Basic " + base64.b64encode(b"\xff:\xfe").decode(),
    ],
)
def test_malformed_basic_credentials_are_401(client: Client, header: str) -> None:
    assert client.get(WHOAMI, HTTP_AUTHORIZATION=header).status_code == 401


def test_credentials_from_header() -> None:
    assert credentials_from_header(None) is None
    assert credentials_from_header("") is None
    assert credentials_from_header("Digest abc") is None
    assert credentials_from_header("Bearer") is None
    assert credentials_from_header("Bearer hf_abc") == "hf_abc"
    assert credentials_from_header(_basic("u", "p:with:colons")) == "p:with:colons"
    with pytest.raises(AuthenticationError):
        credentials_from_header("Basic %%%")


def test_read_token_cannot_write(client: Client, alice, read_token: str, write_token: str) -> None:  # type: ignore[no-untyped-def]
    create = {"name": "by-read-token", "type": "model"}
    r = client.post(
        "/api/repos/create",
        create,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {read_token}",
    )
    assert r.status_code == 403
    repo = repo_create(actor=alice, namespace=None, name="weights")
    for token, status in ((read_token, 403), (write_token, 200)):
        push = client.get(
            f"/{repo.full_name}.git/info/refs",
            {"service": "git-receive-pack"},
            HTTP_AUTHORIZATION=_basic("x", token),
        )
        assert push.status_code == status
        upload = client.post(
            f"/{repo.full_name}.git/info/lfs/objects/batch",
            {"operation": "upload", "objects": []},
            content_type="application/vnd.git-lfs+json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert upload.status_code == status
    # Reading is fine with either.
    fetch = client.get(
        f"/{repo.full_name}.git/info/refs",
        {"service": "git-upload-pack"},
        HTTP_AUTHORIZATION=_basic("x", read_token),
    )
    assert fetch.status_code == 200
