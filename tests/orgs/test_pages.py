"""Account pages in the browser's shoes: sign up, sign in, sign out, access tokens."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from orgs.models import AccessToken, User
from orgs.services import token_create, user_create

PASSWORD = "correct-horse-1"
pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return user_create(username="Alice", password=PASSWORD, email="alice@example.com")


@pytest.fixture
def alice_client(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def _signup(client: Client, **overrides: str):  # type: ignore[no-untyped-def]
    data = {
        "username": "NewUser",
        "fullname": "New User",
        "email": "new@example.com",
        "password": PASSWORD,
    } | overrides
    return client.post("/signup", data)


def test_signup_creates_the_user_and_signs_in(client: Client) -> None:
    response = _signup(client)
    assert response.status_code == 302
    user = User.objects.get(username="NewUser")
    assert user.fullname == "New User"
    assert user.namespace.name == "NewUser"
    assert client.get("/settings/tokens").status_code == 200  # signed in


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("alice", "already taken"),
        ("bad name!", "Invalid name"),
        ("settings", "reserved"),
        ("-dash", "Invalid name"),
    ],
)
def test_signup_with_a_taken_or_bad_name_shows_a_form_error(
    client: Client, alice: User, username: str, message: str
) -> None:
    response = _signup(client, username=username)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == 1


def test_signup_with_a_weak_password_shows_a_form_error(client: Client) -> None:
    response = _signup(client, password="password")
    assert response.status_code == 200
    assert "too common" in response.content.decode()
    assert not User.objects.exists()


def test_signup_is_refused_when_closed(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ALLOW_SIGNUP = False
    assert client.get("/signup").status_code == 403
    assert _signup(client).status_code == 403
    assert not User.objects.exists()


def test_sign_in_ignores_the_case_of_the_name(client: Client, alice: User) -> None:
    response = client.post("/login", {"username": "aLiCe", "password": PASSWORD, "next": "/new"})
    assert response.status_code == 302
    assert response["Location"] == "/new"
    assert int(client.session["_auth_user_id"]) == alice.pk


def test_sign_in_with_a_wrong_password_shows_an_error(client: Client, alice: User) -> None:
    response = client.post("/login", {"username": "alice", "password": "nope-nope-nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_in_never_redirects_off_site(client: Client, alice: User) -> None:
    response = client.post(
        "/login", {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_get_on_logout_does_not_sign_out(alice_client: Client) -> None:
    assert alice_client.get("/logout").status_code == 405
    assert "_auth_user_id" in alice_client.session


def test_logout_needs_a_csrf_token(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/logout").status_code == 403
    assert "_auth_user_id" in client.session


def test_post_on_logout_signs_out(alice_client: Client) -> None:
    response = alice_client.post("/logout")
    assert response.status_code == 302
    assert "_auth_user_id" not in alice_client.session


def test_token_pages_need_sign_in(client: Client) -> None:
    response = client.get("/settings/tokens")
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_created_token_is_shown_once_then_only_masked(alice_client: Client, alice: User) -> None:
    response = alice_client.post("/settings/tokens", {"name": "laptop", "role": "write"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = re.search(r'value="(hf_[A-Za-z0-9]+)"', response.content.decode()).group(1)
    token = AccessToken.objects.get(user=alice)
    assert (token.name, token.role) == ("laptop", "write")
    assert token.digest == AccessToken.digest_of(secret)

    listing = alice_client.get("/settings/tokens").content.decode()
    assert secret not in listing
    assert f"hf_…{secret[-4:]}" in listing
    assert "laptop" in listing


def test_token_form_rejects_an_unknown_role(alice_client: Client, alice: User) -> None:
    response = alice_client.post("/settings/tokens", {"name": "x", "role": "admin"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not AccessToken.objects.exists()


def test_revoked_token_no_longer_authenticates(alice_client: Client, alice: User) -> None:
    token, secret = token_create(user=alice, name="ci", role="read")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert Client().get("/api/whoami-v2", **auth).status_code == 200

    response = alice_client.post(f"/settings/tokens/{token.pk}/revoke")
    assert response.status_code == 302
    assert Client().get("/api/whoami-v2", **auth).status_code == 401
    assert "hf_…" not in alice_client.get("/settings/tokens").content.decode()


def test_revoke_needs_post_with_csrf_and_ownership(alice: User) -> None:
    token, _ = token_create(user=alice, name="ci")
    bob = user_create(username="bob", password=PASSWORD)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(alice)
    assert csrf_client.post(f"/settings/tokens/{token.pk}/revoke").status_code == 403
    other = Client()
    other.force_login(bob)
    assert other.get(f"/settings/tokens/{token.pk}/revoke").status_code == 405
    other.post(f"/settings/tokens/{token.pk}/revoke")
    assert AccessToken.objects.get(pk=token.pk).revoked_at is None
