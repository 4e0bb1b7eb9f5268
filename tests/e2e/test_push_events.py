"""A git push's event is never lost (issue 6: a subscriber gets every event at least once).

The hub here runs with HUB_TEST_FAIL_PUSH_RECORD: every request fails to record its push
after the response (as a failed database write or a process killed after receive-pack
would), so only the pending row its pre-receive check wrote is left. The event sweep, run by
the worker's beat every second with a one-second grace period, reconciles that row with the
refs: the webhook receives the push, the search index learns the new card, and a push is
announced once. Both profiles (SQLite + local broker, PostgreSQL + Redis).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import HubServer, private_redis_env, start_server, stop_server
from tests.e2e.helpers import clone, commit_file, git, head, poll
from tests.webhooks.receiver import Receiver, running

pytestmark = pytest.mark.e2e

ZERO = "0" * 40


@pytest.fixture(scope="module")
def lossy_server() -> Iterator[HubServer]:
    server, db_name = start_server(
        extra_env={
            # Its own Redis database: the session's shared server must not take its tasks.
            **private_redis_env(11),
            "HUB_TEST_FAIL_PUSH_RECORD": "true",
            "HUB_PUSH_RECONCILE_GRACE_SECONDS": "1",
            "HUB_EVENT_SWEEP_SECONDS": "1",
            "HUB_WEBHOOK_SWEEP_SECONDS": "1",
        }
    )
    try:
        yield server
    finally:
        stop_server(server, db_name)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running() as r:
        yield r


def _pushes(receiver: Receiver) -> list[list[tuple[str, str | None, str | None]]]:
    """updatedRefs of each repo.content delivery received so far."""
    out = []
    for request in list(receiver.requests):
        payload = json.loads(request.body)
        if payload["event"]["scope"] == "repo.content":
            out.append([(r["ref"], r["oldSha"], r["newSha"]) for r in payload["updatedRefs"]])
    return out


def test_pushes_the_request_failed_to_record_reach_webhooks_and_search_once(
    lossy_server: HubServer, receiver: Receiver, git_env: dict[str, str], tmp_path: Path
) -> None:
    server = lossy_server
    user, token = server.create_user()
    server.api(token).create_webhook(url=receiver.url, watched=[{"type": "user", "name": user}])
    repo = server.create_repo(token)
    receiver.wait_for(1)  # repo.created
    work = tmp_path / "work"
    clone(server, repo, work, git_env, token)
    initial = head(work, git_env)

    first = commit_file(work, git_env, "README.md", "---\nlicense: mit\n---\n# lost and found\n")
    git("push", "origin", "main", cwd=work, env=git_env)
    assert poll(lambda: _pushes(receiver), what="the first push's webhook") == [
        [("refs/heads/main", initial, first)]
    ]
    # The request did fail to record it: the event came from the sweep.
    log = server.log_tail(200_000)
    assert "HUB_TEST_FAIL_PUSH_RECORD is set" in log
    assert "was not recorded by its request; reconciled" in log

    # The search index heard of it too (the card's tags come from the reindex task).
    api = server.api(token)
    poll(lambda: "license:mit" in (api.model_info(repo).tags or []), what="reindexed card")
    assert [m.id for m in api.list_models(author=user, filter="license:mit")] == [repo]

    # A second push and a new tag: each ref update announced once, in order.
    second = commit_file(work, git_env, "notes.txt", "more\n")
    git("tag", "v1", cwd=work, env=git_env)
    git("push", "origin", "main", "v1", cwd=work, env=git_env)
    pushes = poll(lambda: _pushes(receiver)[1:] or None, what="the second push's webhook")
    assert sorted(pushes[0]) == [("refs/heads/main", first, second), ("refs/tags/v1", None, second)]
    # A third, recorded the same way, arrives after the sweeps that handled the first two:
    # nothing from those was announced again meanwhile.
    third = commit_file(work, git_env, "more.txt", "again\n")
    git("push", "origin", "main", cwd=work, env=git_env)
    poll(lambda: len(_pushes(receiver)) >= 3 or None, what="the third push's webhook")
    assert _pushes(receiver)[2] == [("refs/heads/main", second, third)]
    assert len(_pushes(receiver)) == 3
