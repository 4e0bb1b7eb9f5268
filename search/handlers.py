"""Event subscribers: each only queues search's own task, by id (STYLE.md 2.4)."""

from __future__ import annotations

from typing import Any

from repos import events


def on_repo_created(event: events.Event) -> None:
    from search.tasks import index_repo

    sha = event.head_sha if isinstance(event, events.RepoCreated) else ""
    index_repo.delay(repo_id=event.repo_id, sha=sha or None)


def on_repo_updated(event: events.Event) -> None:
    from search.tasks import index_repo_refs

    updates = event.updates if isinstance(event, events.RepoUpdated) else []
    index_repo_refs.delay(repo_id=event.repo_id, updates=list(updates))


def on_repo_config_changed(event: events.Event) -> None:
    from search.tasks import index_repo

    index_repo.delay(repo_id=event.repo_id, sha=None)


def on_repo_deleted(event: events.Event) -> None:
    from search.tasks import unindex_repo

    unindex_repo.delay(repo_id=event.repo_id)


def on_like_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A like moves its repo in "likes" and "trending" at once: see search/stats.py."""
    from search.stats import like_changed

    if created:
        like_changed(repo_id=instance.repo_id, created_at=instance.created_at, added=True)


def on_like_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    from search.stats import like_changed

    like_changed(repo_id=instance.repo_id, created_at=instance.created_at, added=False)


def on_repo_saved(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A bare index row with every new repo, in its transaction: listings are driven by
    these rows (search/backends/db.py), so a repo is listed before its first index task.
    A rename or transfer updates the row's `owner/name` copy in the same transaction."""
    from search.models import RepoMetadata

    if raw:
        return
    fields = kwargs.get("update_fields")
    if not created and (fields is None or {"name", "owner"} & set(fields)):
        # A rename or transfer: `search=` (id substrings) reads this copy of the name.
        RepoMetadata.objects.filter(pk=instance.pk).exclude(full_id=instance.full_name).update(
            full_id=instance.full_name
        )
    if created:
        RepoMetadata.objects.get_or_create(
            repo=instance,
            defaults={
                "kind": instance.kind,
                "full_id": instance.full_name,
                "description": instance.description,
                "created_at": instance.created_at,
                "last_modified": instance.last_modified,
            },
        )
