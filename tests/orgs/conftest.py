"""Named actors for the org tests: `boss`, the admin of org `acme` (`org`)."""

from __future__ import annotations

import pytest

from orgs.models import Organization, User
from orgs.org_services import org_create
from tests.orgs.helpers import make_user


@pytest.fixture
def boss() -> User:
    return make_user("boss")


@pytest.fixture
def org(boss: User) -> Organization:
    return org_create(actor=boss, name="acme")
