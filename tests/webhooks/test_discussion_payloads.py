"""The `discussion` webhook domain: discussions and PRs reach the webhooks that chose it, in
the public hub's payload shape (huggingface_hub WebhookPayload.discussion / .comment)."""

from __future__ import annotations

import json

import pytest

from repos import events
from repos.discussions import discussion_comment, discussion_create
from repos.models import EventRecord
from tests.webhooks.receiver import Receiver
from webhooks.dispatch import deliveries_create_for_event, delivery_attempt
from webhooks.models import Delivery
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


def _events(kind: type[events.Event]) -> list[events.Event]:
    return [
        events.EVENT_TYPES[r.kind](**r.payload)
        for r in EventRecord.objects.filter(kind=kind.kind).order_by("pk")
    ]


def test_a_pr_and_a_comment_reach_discussion_webhooks_only(
    alice, bob, repo, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("pydantic")
    from huggingface_hub import WebhookPayload

    watched = [{"type": "user", "name": "alice"}]
    both = webhook_create(actor=bob, url=receiver.url, watched=watched)
    webhook_create(actor=bob, url=receiver.url + "repo", watched=watched, domains=["repo"])
    pr = discussion_create(actor=bob, repo=repo, title="Fix the card", pull_request=True)
    comment = discussion_comment(actor=alice, discussion=pr, comment="Thanks, looking")
    opened, commented = _events(events.DiscussionChanged)

    [first] = deliveries_create_for_event(event=opened, key="evt:1")
    [second] = deliveries_create_for_event(event=commented, key="evt:2")
    assert set(Delivery.objects.values_list("webhook_id", flat=True)) == {both.pk}
    assert delivery_attempt(delivery_id=first) == "succeeded"
    assert delivery_attempt(delivery_id=second) == "succeeded"
    created, replied = (json.loads(r.body) for r in receiver.wait_for(2))

    assert created["event"] == {"action": "create", "scope": "discussion"}
    assert created["discussion"]["num"] == 1
    assert created["discussion"]["isPullRequest"] is True
    assert created["discussion"]["status"] == "draft"
    assert created["discussion"]["title"] == "Fix the card"
    assert created["discussion"]["changes"] == {"base": "refs/heads/main"}
    assert created["discussion"]["url"]["web"].endswith("/alice/bert/discussions/1")
    assert "comment" not in created
    assert replied["event"] == {"action": "create", "scope": "discussion.comment"}
    assert replied["comment"]["content"] == "Thanks, looking"
    assert replied["comment"]["id"] == comment.event_id
    payload = WebhookPayload.model_validate(replied)
    assert payload.discussion is not None
    assert payload.discussion.num == 1
    assert payload.comment is not None
    assert payload.comment.author.id == str(alice.pk)


def test_a_private_repo_discussion_is_not_told_to_outsiders(
    alice, bob, repo, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    from repos.services import repo_update_settings

    repo_update_settings(actor=alice, repo=repo, private=True)
    webhook_create(actor=bob, url=receiver.url, watched=[{"type": "user", "name": "alice"}])
    discussion_create(actor=alice, repo=repo, title="Secret plans")
    [opened] = _events(events.DiscussionChanged)
    assert deliveries_create_for_event(event=opened, key="evt:1") == []
