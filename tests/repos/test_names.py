"""Repo and account names follow the public hub's rules; a bad name is a 400 with a message."""

from __future__ import annotations

import pytest
from django.test import Client

from common.errors import BadRequestError, ConflictError
from orgs.names import validate_namespace_name, validate_repo_name
from orgs.services import token_create, user_create

GOOD_REPO_NAMES = [
    "a",
    "A",
    "0",
    "_",
    "bert-base",
    "gpt2.5",
    "my_model",
    "Llama-3.1-8B",
    "a.b-c_d",
    "_private",
    "x" * 96,
    "a-b.c",
]
BAD_REPO_NAMES = [
    "",
    "-a",
    "a-",
    ".a",
    "a.",
    "a--b",
    "a..b",
    "a b",
    "a/b",
    "a\\b",
    "a\nb",
    "a\n",
    "a\x00",
    "é",
    "a:b",
    "x" * 97,
    "..",
    ".",
    "-",
    "a.git",
    "a?",
    "a#b",
]


@pytest.mark.parametrize("name", GOOD_REPO_NAMES)
def test_good_repo_names(name: str) -> None:
    assert validate_repo_name(name) == name


@pytest.mark.parametrize("name", BAD_REPO_NAMES)
def test_bad_repo_names(name: str) -> None:
    with pytest.raises(BadRequestError):
        validate_repo_name(name)


@pytest.mark.parametrize("name", ["DVUser", "dv_user", "dv-user", "a", "a1", "A_b-C"])
def test_good_user_names(name: str) -> None:
    assert validate_namespace_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-a",
        "a-",
        "_a",
        "a_",
        "a--b",
        "a.b",
        "a b",
        "a/b",
        "a\n",
        "é",
        "x" * 43,
        "api",
        "Datasets",
        "settings",
    ],
)
def test_bad_user_names(name: str) -> None:
    with pytest.raises(BadRequestError):
        validate_namespace_name(name)


@pytest.mark.django_db
def test_user_names_keep_their_case_and_are_unique_ignoring_it() -> None:
    user = user_create(username="DVUser", password=None)
    assert user.username == "DVUser"
    assert user.namespace.name == "DVUser"
    assert user_create(username="dv_user-2", password=None).username == "dv_user-2"
    with pytest.raises(ConflictError):
        user_create(username="dvuser", password=None)


@pytest.mark.django_db
@pytest.mark.usefixtures("data_dir")
# (The API trims surrounding whitespace, and reads "a/b" as namespace/name.)
@pytest.mark.parametrize(
    "name", [n for n in BAD_REPO_NAMES if n.strip() == n and "/" not in n] + ["x" * 300, "a/b/c"]
)
def test_create_with_a_bad_name_is_a_400_with_a_message(client: Client, name: str) -> None:
    user = user_create(username="Namer", password=None)
    token = token_create(user=user, name="t", role="write")[1]
    r = client.post(
        "/api/repos/create",
        {"name": name, "type": "model"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert r.status_code == 400, (name, r.status_code, r.content[:300])
    assert r["Content-Type"].startswith("application/json")
    assert r.json()["error"]
    assert r["X-Error-Message"]


@pytest.mark.django_db
@pytest.mark.usefixtures("data_dir")
def test_create_with_a_good_name_and_the_same_name_again(client: Client) -> None:
    user = user_create(username="DVUser", password=None)
    token = token_create(user=user, name="t", role="write")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = {"name": "Llama-3.1-8B", "type": "dataset"}
    r = client.post("/api/repos/create", body, content_type="application/json", **auth)
    assert r.status_code == 200
    assert r.json()["name"] == "DVUser/Llama-3.1-8B"
    again = client.post(
        "/api/repos/create",
        {**body, "name": "llama-3.1-8b"},
        content_type="application/json",
        **auth,
    )
    assert again.status_code == 409
    assert again.json()["error"]
