"""Actors, a repo and a loopback receiver for the webhook tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orgs.models import User
from orgs.services import user_create
from repos.models import Repo
from repos.services import repo_create
from tests.webhooks.receiver import Receiver, running


@pytest.fixture
def alice(db) -> User:  # type: ignore[no-untyped-def]
    return user_create(username="alice", password="correct-horse-1")


@pytest.fixture
def bob(db) -> User:  # type: ignore[no-untyped-def]
    return user_create(username="bob", password="correct-horse-1")


@pytest.fixture
def repo(alice: User, data_dir) -> Repo:  # type: ignore[no-untyped-def]
    return repo_create(actor=alice, namespace="alice", name="bert", kind="model")


@pytest.fixture
def local_targets(settings):  # type: ignore[no-untyped-def]
    """Receivers listen on 127.0.0.1, as on-premises ones may: allow loopback targets."""
    settings.WEBHOOK_ALLOW_LOCAL = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30.0
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    settings.WEBHOOK_DISABLE_AFTER_FAILED_EVENTS = 3
    settings.WEBHOOK_READ_TIMEOUT_SECONDS = 5.0
    settings.WEBHOOK_TOTAL_TIMEOUT_SECONDS = 10.0
    return settings


@pytest.fixture
def receiver(local_targets) -> Iterator[Receiver]:  # type: ignore[no-untyped-def]
    with running() as r:
        yield r
