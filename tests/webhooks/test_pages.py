"""Settings pages: create, edit, enable/disable, delete, test, delivery log; CSRF; queries."""

from __future__ import annotations

import pytest
from django.test import Client

from webhooks.models import Delivery, Webhook
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


@pytest.fixture
def browser(alice) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(alice)
    return client


def test_pages_need_a_sign_in() -> None:
    r = Client().get("/settings/webhooks")
    assert r.status_code == 302
    assert r["Location"].startswith("/login")


def test_create_through_the_form_then_see_it_listed(browser, local_targets) -> None:  # type: ignore[no-untyped-def]
    r = browser.post(
        "/settings/webhooks/new",
        {
            "url": "http://127.0.0.1:9/hook",
            "watched": "user:alice\n",
            "domains": ["repo"],
            "secret": "abc",
            "send_secret_header": "on",
        },
    )
    webhook = Webhook.objects.get()
    assert r.status_code == 302
    assert r["Location"] == f"/settings/webhooks/{webhook.public_id}"
    assert (webhook.domains, webhook.secret, webhook.send_secret_header) == (["repo"], "abc", True)
    page = browser.get("/settings/webhooks").content.decode()
    assert "http://127.0.0.1:9/hook" in page
    assert "user: alice" in page


def test_a_refused_target_is_shown_on_the_form(browser) -> None:  # type: ignore[no-untyped-def]
    r = browser.post(
        "/settings/webhooks/new",
        {"url": "http://169.254.169.254/", "watched": "user:alice", "domains": ["repo"]},
    )
    assert r.status_code == 200
    assert "link-local" in r.content.decode()
    assert not Webhook.objects.exists()


def test_a_malformed_watched_line_is_shown_on_the_form(browser, local_targets) -> None:  # type: ignore[no-untyped-def]
    r = browser.post(
        "/settings/webhooks/new",
        {"url": "http://127.0.0.1:9/", "watched": "alice", "domains": ["repo"]},
    )
    assert "is not TYPE:NAME" in r.content.decode()


def test_posts_without_csrf_token_are_refused(alice, local_targets) -> None:  # type: ignore[no-untyped-def]
    webhook = webhook_create(
        actor=alice, url="http://127.0.0.1:9/", watched=[{"type": "user", "name": "alice"}]
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    for action in ("disable", "delete", "test"):
        assert client.post(f"/settings/webhooks/{webhook.public_id}/{action}").status_code == 403
    assert client.get(f"/settings/webhooks/{webhook.public_id}/delete").status_code == 405
    webhook.refresh_from_db()
    assert webhook.disabled is False


def test_disable_shows_the_reason_and_enable_clears_it(browser, alice, local_targets) -> None:  # type: ignore[no-untyped-def]
    webhook = webhook_create(
        actor=alice, url="http://127.0.0.1:9/", watched=[{"type": "user", "name": "alice"}]
    )
    Webhook.objects.filter(pk=webhook.pk).update(
        disabled=True,
        disabled_reason="Disabled automatically after 20 consecutive failed "
        "deliveries (last: HTTP 500).",
    )
    page = browser.get(f"/settings/webhooks/{webhook.public_id}").content.decode()
    assert "20 consecutive failed deliveries" in page
    browser.post(f"/settings/webhooks/{webhook.public_id}/enable")
    webhook.refresh_from_db()
    assert (webhook.disabled, webhook.disabled_reason) == (False, "")


def test_send_test_event_and_read_the_delivery_log(
    browser,
    alice,
    receiver,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    webhook = webhook_create(
        actor=alice, url=receiver.url, secret="s", watched=[{"type": "user", "name": "alice"}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = browser.post(f"/settings/webhooks/{webhook.public_id}/test")
    delivery = Delivery.objects.get()
    assert r["Location"].endswith(f"/deliveries/{delivery.message_id}")
    receiver.wait_for(1)
    page = browser.get(r["Location"]).content.decode()
    assert "webhook-signature" in page
    assert "HTTP 200" in page
    assert "Redeliver" in page
    edit = browser.get(f"/settings/webhooks/{webhook.public_id}").content.decode()
    assert delivery.message_id in edit


def test_delete_through_the_page(browser, alice, local_targets) -> None:  # type: ignore[no-untyped-def]
    webhook = webhook_create(
        actor=alice, url="http://127.0.0.1:9/", watched=[{"type": "user", "name": "alice"}]
    )
    r = browser.post(f"/settings/webhooks/{webhook.public_id}/delete")
    assert r["Location"] == "/settings/webhooks"
    assert not Webhook.objects.exists()


def test_someone_elses_webhook_page_is_404(bob, alice, local_targets) -> None:  # type: ignore[no-untyped-def]
    webhook = webhook_create(
        actor=alice, url="http://127.0.0.1:9/", watched=[{"type": "user", "name": "alice"}]
    )
    client = Client()
    client.force_login(bob)
    assert client.get(f"/settings/webhooks/{webhook.public_id}").status_code == 404
    assert client.post(f"/settings/webhooks/{webhook.public_id}/delete").status_code == 404


def test_the_list_page_query_count_does_not_grow_with_webhooks(
    browser,
    alice,
    local_targets,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for n in range(5):
        webhook_create(
            actor=alice, url=f"http://127.0.0.1:9/{n}", watched=[{"type": "user", "name": "alice"}]
        )
    with django_assert_max_num_queries(6):
        assert browser.get("/settings/webhooks").status_code == 200
