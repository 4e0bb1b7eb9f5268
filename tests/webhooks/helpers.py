"""Events the webhook tests fan out."""

from __future__ import annotations

from repos import events
from repos.models import Repo


def push_event(repo: Repo) -> events.RepoUpdated:
    """A push to main of `repo` (shas made up: fan-out does not read git)."""
    return events.RepoUpdated(
        repo_id=repo.pk,
        full_name=repo.full_name,
        repo_kind=repo.kind,
        updates=[{"ref": "refs/heads/main", "old": "a" * 40, "new": "b" * 40}],
    )
