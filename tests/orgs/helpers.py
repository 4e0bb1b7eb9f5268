"""Small helpers for the org tests: users, fresh instances, signed-in test clients."""

from __future__ import annotations

from django.test import Client

from orgs.models import User
from orgs.services import token_create, user_create


def make_user(name: str, **kw) -> User:  # type: ignore[no-untyped-def]
    return user_create(username=name, password=None, **kw)


def fresh(user: User) -> User:
    """A new instance, as a new request loads it (grants are cached per instance)."""
    return User.objects.get(pk=user.pk)


def browser(user: User) -> Client:
    """A test client signed in as `user` (a session, as a browser has)."""
    client = Client()
    client.force_login(user)
    return client


def api_client(user: User, role: str = "write") -> Client:
    """A test client sending a new token of `user` with every request."""
    secret = token_create(user=user, name="t", role=role)[1]
    return Client(headers={"Authorization": f"Bearer {secret}"})
