"""The drain task: many deliveries per task, a few in flight at once, each claimed first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orgs.models import User
from repos import events
from repos.models import Repo
from tests.webhooks.receiver import Answer, Receiver, running
from tests.webhooks.verify import verify
from webhooks import dispatch
from webhooks.dispatch import deliveries_create_for_event, deliveries_drain
from webhooks.models import Delivery, DeliveryState, Webhook
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _webhooks(owner: User, url: str, count: int) -> list[Webhook]:
    return [
        webhook_create(
            actor=owner, url=url, watched=[{"type": "user", "name": owner.username}], secret=SECRET
        )
        for _ in range(count)
    ]


def _push(repo: Repo, key: str = "evt:1") -> list[int]:
    event = events.RepoUpdated(
        repo_id=repo.pk,
        full_name=repo.full_name,
        repo_kind=repo.kind,
        updates=[{"ref": "refs/heads/main", "old": "a" * 40, "new": "b" * 40}],
    )
    return deliveries_create_for_event(event=event, key=key)


@pytest.fixture
def claims(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, list[tuple[int, int]]]]:
    """Every claim a drain makes: (rows asked for, rows got)."""
    seen: list[tuple[int, list[tuple[int, int]]]] = []
    real = dispatch._claim_due

    def recording(limit: int, *, now):  # type: ignore[no-untyped-def]
        got = real(limit, now=now)
        seen.append((limit, got))
        return got

    monkeypatch.setattr(dispatch, "_claim_due", recording)
    return seen


def test_a_drain_sends_every_due_delivery_once_signed_and_records_it(
    alice: User, repo: Repo, receiver: Receiver, claims
) -> None:  # type: ignore[no-untyped-def]
    _webhooks(alice, receiver.url, 7)
    ids = _push(repo)
    assert deliveries_drain(concurrency=3) == (7, False)
    requests = receiver.wait_for(7)
    assert len(receiver.requests) == 7
    assert all(verify(secret=SECRET, headers=r.headers, body=r.body) for r in requests)
    sent_ids = {r.headers["webhook-id"] for r in requests}
    assert sent_ids == set(Delivery.objects.values_list("message_id", flat=True))
    for delivery in Delivery.objects.filter(pk__in=ids):
        assert (delivery.state, delivery.attempts, delivery.lease_until) == (
            DeliveryState.SUCCEEDED,
            1,
            None,
        )
        assert list(delivery.attempt_log.values_list("number", "outcome")) == [(1, "succeeded")]
    # Never more claimed rows than idle senders: each claimed row starts at once.
    assert all(len(got) <= limit <= 3 for limit, got in claims)
    assert claims[-1][1] == []  # it stopped when nothing was due
    assert deliveries_drain() == (0, False)  # a second run finds nothing to do


def test_a_drain_leaves_rows_that_are_not_due_or_held_by_someone_else(
    alice: User, repo: Repo, receiver: Receiver
) -> None:
    _webhooks(alice, receiver.url, 3)
    later, held, due = _push(repo)
    Delivery.objects.filter(pk=later).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    lease = timezone.now() + timedelta(minutes=2)
    Delivery.objects.filter(pk=held).update(
        state=DeliveryState.SENDING, attempts=1, round_attempts=1, lease_until=lease
    )
    assert deliveries_drain() == (1, False)
    assert len(receiver.wait_for(1)) == 1
    states = dict(Delivery.objects.values_list("pk", "state"))
    assert states == {
        later: DeliveryState.PENDING,
        held: DeliveryState.SENDING,
        due: DeliveryState.SUCCEEDED,
    }


def test_two_drains_never_claim_the_same_row(alice: User, repo: Repo, receiver: Receiver) -> None:
    _webhooks(alice, receiver.url, 4)
    _push(repo)
    now = timezone.now()
    first = dispatch._claim_due(3, now=now)
    second = dispatch._claim_due(3, now=now)
    assert len(first) == 3
    assert len(second) == 1
    assert not {pk for pk, _ in first} & {pk for pk, _ in second}
    assert dispatch._claim_due(3, now=now) == []
    assert all(number == 1 for _, number in first + second)  # the fencing token


def test_retries_and_final_answers_keep_their_meaning_in_a_drain(
    alice: User, repo: Repo, local_targets
) -> None:  # type: ignore[no-untyped-def]
    with running([Answer(500, body=b"down"), Answer(404)]) as receiver:
        receiver.default = Answer(200)
        _webhooks(alice, receiver.url, 3)
        _push(repo)
        # One at a time, so the script's answers go to the rows in claim order.
        assert deliveries_drain(concurrency=1) == (3, False)
        receiver.wait_for(3)
    rows = list(Delivery.objects.order_by("next_attempt_at", "pk"))
    outcomes = sorted((d.state, d.last_status) for d in rows)
    assert outcomes == [
        (DeliveryState.FAILED, 404),
        (DeliveryState.PENDING, 500),
        (DeliveryState.SUCCEEDED, 200),
    ]
    retrying = Delivery.objects.get(state=DeliveryState.PENDING)
    assert retrying.next_attempt_at > timezone.now() + timedelta(seconds=20)  # backoff kept
    assert retrying.lease_until is None
    assert list(retrying.attempt_log.values_list("outcome", "response_body")) == [("retry", "down")]


def test_a_disabled_webhooks_rows_are_cancelled_not_sent(
    alice: User, repo: Repo, receiver: Receiver
) -> None:
    [webhook, other] = _webhooks(alice, receiver.url, 2)
    _push(repo)
    Webhook.objects.filter(pk=webhook.pk).update(disabled=True)
    assert deliveries_drain() == (1, False)
    assert len(receiver.wait_for(1)) == 1
    cancelled = Delivery.objects.get(webhook=webhook)
    assert (cancelled.state, cancelled.attempts) == (DeliveryState.CANCELLED, 0)
    assert Delivery.objects.get(webhook=other).state == DeliveryState.SUCCEEDED


def test_a_drain_out_of_time_claims_nothing_more_and_says_so(
    alice: User, repo: Repo, receiver: Receiver
) -> None:
    _webhooks(alice, receiver.url, 2)
    _push(repo)
    assert deliveries_drain(seconds=0) == (0, True)
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.PENDING}
    assert receiver.requests == []


def test_fan_out_queues_one_drain_per_batch_and_it_sends_at_once(
    alice: User,
    repo: Repo,
    receiver: Receiver,
    settings,
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_DRAIN_BATCH = 2
    _webhooks(alice, receiver.url, 5)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ids = _push(repo)
    assert len(ids) == 5
    assert len(callbacks) == 3  # ceil(5 / 2) drain tasks, not one task per delivery
    # Tasks run eagerly in tests: the first drain sent everything, the others found nothing.
    assert len(receiver.wait_for(5)) == 5
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED}
    assert len(receiver.requests) == 5
