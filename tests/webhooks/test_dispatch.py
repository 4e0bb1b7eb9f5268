"""Fan-out, claim and lease, retries and auto-disable, against real receivers on loopback."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from orgs.models import User
from repos import events
from repos.services import repo_update_settings
from tests.webhooks.helpers import push_event
from tests.webhooks.receiver import Answer, running
from tests.webhooks.verify import verify
from webhooks.dispatch import deliveries_create_for_event, deliveries_sweep, delivery_attempt
from webhooks.models import Delivery, DeliveryState, Webhook
from webhooks.services import delivery_redeliver, webhook_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _webhook(owner: User, url: str, *, watched: list[dict] | None = None, **kw) -> Webhook:  # type: ignore[type-arg,no-untyped-def]
    return webhook_create(
        actor=owner,
        url=url,
        watched=watched or [{"type": "user", "name": owner.username}],
        secret=kw.pop("secret", SECRET),
        **kw,
    )


def _due_now(delivery_id: int) -> None:
    Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())


def test_a_push_is_delivered_signed_in_the_public_hub_shape(alice, repo, receiver) -> None:  # type: ignore[no-untyped-def]
    webhook = _webhook(alice, receiver.url)
    [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:1")
    assert delivery_attempt(delivery_id=delivery_id) == "succeeded"
    [request] = receiver.wait_for(1)
    assert verify(secret=SECRET, headers=request.headers, body=request.body)
    assert request.headers["content-type"] == "application/json"
    assert "x-webhook-secret" not in request.headers  # only when opted in
    payload = json.loads(request.body)
    assert payload["event"] == {"action": "update", "scope": "repo.content"}
    assert payload["webhook"] == {"id": webhook.public_id, "version": 3}
    assert payload["repo"]["name"] == "alice/bert"
    assert payload["repo"]["type"] == "model"
    assert payload["repo"]["id"] == str(repo.pk)
    assert payload["repo"]["private"] is False
    assert payload["repo"]["url"]["web"].endswith("/alice/bert")
    assert payload["repo"]["url"]["api"].endswith("/api/models/alice/bert")
    assert len(payload["repo"]["headSha"]) == 40
    assert payload["repo"]["owner"] == {"id": str(repo.owner_id)}
    assert payload["updatedRefs"] == [
        {"ref": "refs/heads/main", "oldSha": "a" * 40, "newSha": "b" * 40}
    ]


def test_the_payload_parses_with_huggingface_hub_models(alice, repo, receiver) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("pydantic")
    from huggingface_hub import WebhookPayload

    _webhook(alice, receiver.url)
    [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:1")
    delivery_attempt(delivery_id=delivery_id)
    payload = WebhookPayload.model_validate_json(receiver.wait_for(1)[0].body)
    assert payload.repo.name == "alice/bert"
    assert payload.updatedRefs[0].newSha == "b" * 40


def test_fan_out_twice_for_one_event_creates_one_delivery(alice, repo, receiver) -> None:  # type: ignore[no-untyped-def]
    _webhook(alice, receiver.url)
    first = deliveries_create_for_event(event=push_event(repo), key="evt:9")
    again = deliveries_create_for_event(event=push_event(repo), key="evt:9")
    assert len(first) == 1
    assert again == []
    assert Delivery.objects.count() == 1


def test_only_matching_enabled_webhooks_in_the_repo_domain_get_deliveries(
    alice,
    bob,
    repo,
    receiver,  # type: ignore[no-untyped-def]
) -> None:
    watching_repo = _webhook(bob, receiver.url, watched=[{"type": "model", "name": "alice/bert"}])
    watching_user = _webhook(bob, receiver.url, watched=[{"type": "user", "name": "alice"}])
    _webhook(bob, receiver.url, watched=[{"type": "user", "name": "bob"}])
    _webhook(bob, receiver.url, domains=["discussion"])
    disabled = _webhook(bob, receiver.url, watched=[{"type": "user", "name": "alice"}])
    Webhook.objects.filter(pk=disabled.pk).update(disabled=True)
    deliveries_create_for_event(event=push_event(repo), key="evt:1")
    got = set(Delivery.objects.values_list("webhook_id", flat=True))
    assert got == {watching_repo.pk, watching_user.pk}


def test_a_private_repo_is_not_told_to_watchers_who_cannot_read_it(
    alice,
    bob,
    repo,
    receiver,  # type: ignore[no-untyped-def]
) -> None:
    bobs = _webhook(bob, receiver.url, watched=[{"type": "user", "name": "alice"}])
    alices = _webhook(alice, receiver.url)
    repo_update_settings(actor=alice, repo=repo, private=True)
    deliveries_create_for_event(event=push_event(repo), key="evt:1")
    deleted = events.RepoDeleted(repo_id=repo.pk, full_name=repo.full_name, private=True)
    deliveries_create_for_event(event=deleted, key="evt:2")
    assert not Delivery.objects.filter(webhook=bobs).exists()
    assert Delivery.objects.filter(webhook=alices).count() == 2


def test_a_rename_is_a_move_event_with_the_new_name(alice, repo, receiver) -> None:  # type: ignore[no-untyped-def]
    _webhook(alice, receiver.url, watched=[{"type": "model", "name": "alice/bert"}])
    event = events.RepoConfigChanged(
        repo_id=repo.pk,
        full_name="alice/bert2",
        changes={"name": {"old": "alice/bert", "new": "alice/bert2"}},
    )
    [delivery_id] = deliveries_create_for_event(event=event, key="evt:1")
    delivery_attempt(delivery_id=delivery_id)
    payload = json.loads(receiver.wait_for(1)[0].body)
    assert payload["event"] == {"action": "move", "scope": "repo"}
    assert payload["repo"]["name"] == "alice/bert"
    assert payload["movedTo"]["name"] == "alice/bert2"


def test_500_then_200_retries_with_the_same_id_and_a_fresh_signature(
    alice,
    repo,
    local_targets,  # type: ignore[no-untyped-def]
) -> None:
    with running([Answer(500, body=b"down")]) as receiver:
        _webhook(alice, receiver.url)
        [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:1")
        assert delivery_attempt(delivery_id=delivery_id) == "retry"
        delivery = Delivery.objects.get(pk=delivery_id)
        assert delivery.state == DeliveryState.PENDING
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=20)
        assert delivery_attempt(delivery_id=delivery_id) is None  # not due yet
        _due_now(delivery_id)
        assert delivery_attempt(delivery_id=delivery_id) == "succeeded"
        first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    for request in (first, second):
        assert verify(secret=SECRET, headers=request.headers, body=request.body)
    log = list(Delivery.objects.get(pk=delivery_id).attempt_log.order_by("number"))
    assert [(a.number, a.response_status, a.outcome) for a in log] == [
        (1, 500, "retry"),
        (2, 200, "succeeded"),
    ]
    assert log[0].response_body == "down"


def test_429_retry_after_is_honoured(alice, repo, local_targets) -> None:  # type: ignore[no-untyped-def]
    local_targets.WEBHOOK_RETRY_BASE_SECONDS = 0.1
    with running([Answer(429, headers={"Retry-After": "120"})]) as receiver:
        _webhook(alice, receiver.url)
        [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:1")
        before = timezone.now()
        assert delivery_attempt(delivery_id=delivery_id) == "retry"
    assert Delivery.objects.get(pk=delivery_id).next_attempt_at >= before + timedelta(seconds=120)


@pytest.mark.parametrize("status", [400, 404, 302])
def test_final_answers_are_not_retried(alice, repo, local_targets, status: int) -> None:  # type: ignore[no-untyped-def]
    script = [Answer(status, headers={"Location": "http://169.254.169.254/"})]
    with running(script) as receiver:
        _webhook(alice, receiver.url)
        [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:1")
        assert delivery_attempt(delivery_id=delivery_id) == "failed"
        assert len(receiver.wait_for(1)) == 1
    delivery = Delivery.objects.get(pk=delivery_id)
    assert (delivery.state, delivery.last_status) == (DeliveryState.FAILED, status)


def test_410_disables_the_webhook_and_says_why(alice, repo, local_targets) -> None:  # type: ignore[no-untyped-def]
    with running([Answer(410)]) as receiver:
        webhook = _webhook(alice, receiver.url)
        [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:1")
        delivery_attempt(delivery_id=delivery_id)
    webhook.refresh_from_db()
    assert webhook.disabled
    assert "410" in webhook.disabled_reason


def test_consecutive_failed_events_disable_the_webhook(alice, repo, local_targets) -> None:  # type: ignore[no-untyped-def]
    local_targets.WEBHOOK_MAX_ATTEMPTS = 2
    with running() as receiver:
        receiver.default = Answer(503)
        webhook = _webhook(alice, receiver.url)
        for n in range(3):
            [delivery_id] = deliveries_create_for_event(event=push_event(repo), key=f"evt:{n}")
            assert delivery_attempt(delivery_id=delivery_id) == "retry"
            _due_now(delivery_id)
            assert delivery_attempt(delivery_id=delivery_id) == "failed"
            webhook.refresh_from_db()
            assert webhook.disabled is (n == 2)
    assert webhook.consecutive_failures == 3
    assert "3 consecutive failed" in webhook.disabled_reason
    # Once disabled, new events are not fanned out and queued ones are cancelled.
    assert deliveries_create_for_event(event=push_event(repo), key="evt:9") == []


def test_the_owner_sees_why_a_webhook_was_disabled(alice, repo, local_targets) -> None:  # type: ignore[no-untyped-def]
    """Auto-disabled: the reason is in the API (disabledReason) and on both settings pages."""
    from django.test import Client

    from orgs.services import token_create

    local_targets.WEBHOOK_MAX_ATTEMPTS = 1
    local_targets.WEBHOOK_DISABLE_AFTER_FAILED_EVENTS = 2
    with running() as receiver:
        receiver.default = Answer(500)
        webhook = _webhook(alice, receiver.url)
        for n in range(2):
            [delivery_id] = deliveries_create_for_event(event=push_event(repo), key=f"evt:{n}")
            assert delivery_attempt(delivery_id=delivery_id) == "failed"
    reason = (
        "Disabled automatically after 2 consecutive failed deliveries "
        "(last: HTTP 500; gave up after 1 attempts)."
    )
    _, secret = token_create(user=alice, name="t", role="read")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    shown = api.get(f"/api/settings/webhooks/{webhook.public_id}").json()["webhook"]
    assert (shown["disabled"], shown["disabledReason"]) == (True, reason)
    browser = Client()
    browser.force_login(alice)
    assert reason in browser.get("/settings/webhooks").content.decode()
    assert reason in browser.get(f"/settings/webhooks/{webhook.public_id}").content.decode()


def test_a_success_resets_the_failure_count(alice, repo, local_targets) -> None:  # type: ignore[no-untyped-def]
    with running([Answer(404)]) as receiver:
        webhook = _webhook(alice, receiver.url)
        for n in range(2):
            [delivery_id] = deliveries_create_for_event(event=push_event(repo), key=f"evt:{n}")
            delivery_attempt(delivery_id=delivery_id)
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0


def test_a_claimed_delivery_is_sent_once_even_when_two_workers_race(
    alice,
    repo,
    receiver,  # type: ignore[no-untyped-def]
) -> None:
    _webhook(alice, receiver.url)
    [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:1")
    outcomes = [delivery_attempt(delivery_id=delivery_id) for _ in range(3)]
    assert outcomes == ["succeeded", None, None]
    assert len(receiver.requests) == 1


def test_an_expired_lease_returns_to_pending_and_is_sent_again(alice, repo, receiver) -> None:  # type: ignore[no-untyped-def]
    """A worker killed mid-attempt leaves the row `sending`; the sweep frees it after the lease."""
    _webhook(alice, receiver.url)
    [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:1")
    # What a claim leaves behind when its worker dies before recording anything:
    Delivery.objects.filter(pk=delivery_id).update(
        state=DeliveryState.SENDING,
        attempts=1,
        round_attempts=1,
        lease_until=timezone.now() + timedelta(seconds=60),
    )
    assert deliveries_sweep() == (0, 0)  # lease still running: left alone
    assert delivery_attempt(delivery_id=delivery_id) is None
    Delivery.objects.filter(pk=delivery_id).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )  # ...and then it runs out
    released, queued = deliveries_sweep()
    assert (released, queued) == (1, 1)  # eager mode: the queued task ran inline
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.state == DeliveryState.SUCCEEDED
    outcomes = list(delivery.attempt_log.order_by("number").values_list("number", "outcome"))
    assert outcomes == [(1, "lost"), (2, "succeeded")]
    assert len(receiver.wait_for(1)) == 1


def test_a_late_result_from_a_worker_that_lost_its_lease_changes_nothing(
    alice,
    repo,
    receiver,  # type: ignore[no-untyped-def]
) -> None:
    _webhook(alice, receiver.url)
    [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:1")
    takeover: list[tuple[int, int]] = []

    def slow_resolver(host: str, port: int) -> list[str]:
        # Runs inside the first attempt, after its claim: its lease runs out meanwhile and
        # the sweep hands the delivery to another worker (inline, eager), which succeeds.
        Delivery.objects.filter(pk=delivery_id).update(
            lease_until=timezone.now() - timedelta(seconds=1)
        )
        takeover.append(deliveries_sweep())
        return ["127.0.0.1"]

    assert delivery_attempt(delivery_id=delivery_id, resolver=slow_resolver) == "stale"
    assert takeover == [(1, 1)]
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.state == DeliveryState.SUCCEEDED
    log = list(delivery.attempt_log.order_by("pk").values_list("number", "outcome"))
    assert log == [(1, "lost"), (2, "succeeded"), (1, "stale")]


def test_dns_rebinding_to_loopback_is_refused_at_delivery(alice, repo, settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_LOCAL = False
    with running() as trap:
        answers = iter([["93.184.216.34"], ["127.0.0.1"]])

        def resolver(host: str, port: int) -> list[str]:
            return next(answers)

        from webhooks import ssrf

        url = f"http://rebind.example:{trap.port}/hook"
        ssrf.url_check(url, allow_local=False, resolver=resolver)  # as saved: public
        webhook = Webhook.objects.create(owner=alice, url=url, domains=["repo"])
        webhook.watched.create(type="user", name="alice", name_lower="alice")
        [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:1")
        assert delivery_attempt(delivery_id=delivery_id, resolver=resolver) == "failed"
        assert trap.requests == []  # no socket reached the loopback listener
    delivery = Delivery.objects.get(pk=delivery_id)
    assert "loopback" in delivery.last_error


def test_redeliver_resends_with_the_same_id(alice, repo, receiver) -> None:  # type: ignore[no-untyped-def]
    _webhook(alice, receiver.url)
    [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:1")
    delivery_attempt(delivery_id=delivery_id)
    delivery_redeliver(
        actor=alice, delivery=Delivery.objects.select_related("webhook").get(pk=delivery_id)
    )
    assert delivery_attempt(delivery_id=delivery_id) == "succeeded"
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert Delivery.objects.get(pk=delivery_id).attempts == 2


def test_the_secret_header_is_sent_on_opt_in_and_masked_in_the_log(alice, repo, receiver) -> None:  # type: ignore[no-untyped-def]
    _webhook(alice, receiver.url, secret="my-hub-secret-123", send_secret_header=True)
    [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:1")
    delivery_attempt(delivery_id=delivery_id)
    assert receiver.wait_for(1)[0].headers["x-webhook-secret"] == "my-hub-secret-123"
    logged = Delivery.objects.get(pk=delivery_id).attempt_log.get().request_headers
    assert logged["X-Webhook-Secret"] == "…-123"
