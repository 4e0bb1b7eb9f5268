"""The audit log: what each service records, who and from where, and what it never holds."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from common.redact import MaskTokensFilter, mask_tokens
from orgs.audit import AuditFilters, audit_list, audit_log
from orgs.models import AuditEvent
from orgs.services import user_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def alice():  # type: ignore[no-untyped-def]
    return user_create(username="Alice", password=PASSWORD)


def _events(verb: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(verb=verb).order_by("id"))


def test_sign_in_success_and_failure_are_recorded(client: Client, alice) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/login", {"username": "alice", "password": "wrong-password"}, HTTP_USER_AGENT="ua/1"
    )
    assert r.status_code == 200
    r = client.post("/login", {"username": "nobody", "password": "whatever-password"})
    r = client.post("/login", {"username": "alice", "password": PASSWORD})
    assert r.status_code == 302
    failed = _events("user.login_failed")
    assert [e.actor_name for e in failed] == ["alice", "nobody"]
    assert failed[0].actor_id is None
    assert failed[0].target_id == str(alice.pk)  # an existing account: shown in its own log
    assert failed[0].namespace_id == alice.namespace_id
    assert failed[0].user_agent == "ua/1"
    assert failed[0].ip == "127.0.0.1"
    assert failed[1].target_name == "nobody"
    assert failed[1].namespace_id is None
    (ok,) = _events("user.login")
    assert ok.actor_id == alice.pk
    assert ok.actor_name == "Alice"
    for event in AuditEvent.objects.all():
        assert "wrong-password" not in json.dumps(event.details)
        assert PASSWORD not in str(vars(event))


def test_sign_out_is_recorded(client: Client, alice) -> None:  # type: ignore[no-untyped-def]
    client.force_login(alice)
    assert client.post("/logout").status_code == 302
    (event,) = _events("user.logout")
    assert event.actor_id == alice.pk


def test_forwarded_for_is_believed_only_from_trusted_proxies(
    client: Client, settings, alice
) -> None:  # type: ignore[no-untyped-def]
    settings.FORWARDED_ALLOW_IPS = ["10.0.0.1"]
    client.post(
        "/login",
        {"username": "alice", "password": "nope-nope-nope"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9",
    )
    client.post(
        "/login",
        {"username": "alice", "password": "nope-nope-nope"},
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    first, second = _events("user.login_failed")
    assert first.ip == "203.0.113.9"  # the right-most untrusted hop, not what the client wrote
    assert second.ip == "198.51.100.7"  # an untrusted peer's header is ignored


def test_audit_rows_are_append_only(alice) -> None:  # type: ignore[no-untyped-def]
    event = audit_log(verb="user.login", actor=alice, target=alice)
    event.verb = "changed"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(verb="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).verb == "user.login"


def test_audit_list_filters(alice) -> None:  # type: ignore[no-untyped-def]
    bob = user_create(username="bob", password=None)
    audit_log(verb="repo.create", actor=alice, target_type="model", target_name="Alice/one")
    audit_log(verb="repo.delete", actor=bob, target_type="model", target_name="bob/two")
    audit_log(verb="token.create", actor=bob, target=bob)

    def verbs(**kw: str) -> list[str]:
        return sorted(
            audit_list(filters=AuditFilters.from_query(kw)).values_list("verb", flat=True)
        )

    assert verbs(verb="repo.") == ["repo.create", "repo.delete"]
    assert verbs(verb="repo.delete") == ["repo.delete"]
    assert verbs(actor="BOB") == ["repo.delete", "token.create"]
    assert verbs(target="one") == ["repo.create"]
    assert verbs(since="2000-01-01", until="2000-01-02") == []
    assert len(verbs(since="not-a-date")) == 3
    assert [e.verb for e in audit_list(user=bob)] == ["token.create", "repo.delete"]


def test_log_filter_masks_tokens() -> None:
    secret = "hf_" + "aB3" * 10
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "got %s and %s", (secret, 7), None)
    assert MaskTokensFilter().filter(record)
    assert secret not in record.getMessage()
    assert record.getMessage() == "got hf_*** and 7"
    assert mask_tokens("hf_short") == "hf_short"  # not token-shaped: left alone
    try:
        raise ValueError(secret)
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    MaskTokensFilter().filter(record)
    assert secret not in logging.Formatter().format(record)


def _api(client: Client, method: str, path: str, token: str, body: dict | None = None, **kw):  # type: ignore[no-untyped-def,type-arg]
    return getattr(client, method)(
        path,
        body or {},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **kw,
    )


def test_repo_and_token_services_record_actor_token_and_address(
    client: Client, settings, alice
) -> None:  # type: ignore[no-untyped-def]
    from orgs.services import token_create

    settings.FORWARDED_ALLOW_IPS = []
    row, secret = token_create(user=alice, name="laptop", role="write")
    ua = {"HTTP_USER_AGENT": "huggingface_hub/2.4.0", "REMOTE_ADDR": "192.0.2.5"}
    assert (
        _api(
            client, "post", "/api/repos/create", secret, {"name": "m", "private": True}, **ua
        ).status_code
        == 200
    )
    _api(client, "put", "/api/models/Alice/m/settings", secret, {"private": False}, **ua)
    _api(client, "put", "/api/models/Alice/m/settings", secret, {"gated": "auto"}, **ua)
    _api(
        client,
        "post",
        "/api/repos/move",
        secret,
        {"fromRepo": "Alice/m", "toRepo": "Alice/n"},
        **ua,
    )
    _api(client, "delete", "/api/repos/delete", secret, {"name": "n"}, **ua)
    events = list(AuditEvent.objects.filter(verb__startswith="repo.").order_by("id"))
    assert [e.verb for e in events] == [
        "repo.create",
        "repo.visibility",
        "repo.gating",
        "repo.rename",
        "repo.delete",
    ]
    for event in events:
        assert event.actor_id == alice.pk
        assert event.token_id == row.pk
        assert event.token_name == "laptop"
        assert event.ip == "192.0.2.5"
        assert event.user_agent == "huggingface_hub/2.4.0"
        assert event.namespace_id == alice.namespace_id
        assert event.target_type == "repo"
    assert events[0].target_name == "Alice/m"
    assert events[1].details == {"private": False}
    assert events[2].details == {"gated": "auto"}
    assert events[3].details == {"old": "Alice/m", "new": "Alice/n"}
    assert events[4].target_name == "Alice/n"
    (created,) = AuditEvent.objects.filter(verb="token.create")
    assert created.ip is None  # created outside a request: no address
    assert created.details["role"] == "write"


def test_webhook_services_record_without_secrets(client: Client, settings, alice) -> None:  # type: ignore[no-untyped-def]
    from orgs.services import token_create

    settings.WEBHOOK_ALLOW_LOCAL = True  # no DNS in tests: loopback receivers
    _, token = token_create(user=alice, name="w", role="write")
    r = _api(
        client,
        "post",
        "/api/settings/webhooks",
        token,
        {
            "url": "http://127.0.0.1:9/hook?key=abc",
            "watched": [{"type": "user", "name": "Alice"}],
            "secret": "s3cr3t-value",
        },
    )
    assert r.status_code == 200, r.content
    hook = r.json()["webhook"]["id"]
    _api(
        client,
        "post",
        f"/api/settings/webhooks/{hook}",
        token,
        {"url": "http://127.0.0.1:9/x", "watched": []},
    )
    _api(client, "delete", f"/api/settings/webhooks/{hook}", token)
    events = list(AuditEvent.objects.filter(verb__startswith="webhook.").order_by("id"))
    assert [e.verb for e in events] == ["webhook.create", "webhook.update", "webhook.delete"]
    assert events[0].target_id == hook
    assert events[0].details["url"] == "http://127.0.0.1:9/hook"
    assert events[0].details["hasSecret"] is True
    assert events[0].namespace_id == alice.namespace_id
    for event in events:
        dumped = repr(vars(event))
        assert "s3cr3t-value" not in dumped
        assert "key=abc" not in dumped


def test_user_sees_own_log_and_only_staff_see_the_site_log(client: Client, alice) -> None:  # type: ignore[no-untyped-def]
    bob = user_create(username="bob", password=None)
    audit_log(verb="repo.create", actor=alice, target_type="repo", target_name="Alice/mine")
    audit_log(verb="repo.create", actor=bob, target_type="repo", target_name="bob/theirs")
    client.force_login(alice)
    page = client.get("/settings/audit").content.decode()
    assert "Alice/mine" in page
    assert "bob/theirs" not in page
    assert client.get("/_/audit").status_code == 404
    assert client.get("/_/audit/export").status_code == 404
    admin = user_create(username="root", password=None, is_admin=True)
    client.force_login(admin)
    page = client.get("/_/audit", {"actor": "bob"}).content.decode()
    assert "bob/theirs" in page
    assert "Alice/mine" not in page


def test_export_is_streamed_json_lines(client: Client, alice) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        audit_log(
            verb="repo.create",
            actor=alice,
            target_type="repo",
            target_name=f"Alice/r{i}",
            namespace=alice.namespace_id,
        )
    audit_log(verb="token.create", actor=alice, target=alice)
    admin = user_create(username="root", password=None, is_admin=True)
    client.force_login(admin)
    r = client.get("/_/audit/export", {"verb": "repo."})
    assert r.status_code == 200
    assert r["Content-Type"] == "application/x-ndjson"
    assert r.streaming
    lines = b"".join(r.streaming_content).decode().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [row["target"]["name"] for row in rows] == ["Alice/r2", "Alice/r1", "Alice/r0"]
    assert set(rows[0]) == {
        "id",
        "createdAt",
        "verb",
        "actor",
        "token",
        "target",
        "namespace",
        "ip",
        "userAgent",
        "details",
    }
    assert rows[0]["actor"] == {"id": alice.pk, "name": "Alice"}
    assert rows[0]["namespace"] == {"id": alice.namespace_id, "name": "Alice"}


def test_audit_page_queries_are_bounded(
    client: Client, alice, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for i in range(30):
        audit_log(verb="repo.create", actor=alice, target_type="repo", target_name=f"Alice/r{i}")
    client.force_login(alice)
    with django_assert_max_num_queries(6):
        assert client.get("/settings/audit").status_code == 200


def test_admin_shows_audit_events_read_only(client: Client, alice) -> None:  # type: ignore[no-untyped-def]
    event = audit_log(verb="user.login", actor=alice, target=alice)
    admin = user_create(username="root", password=None, is_admin=True)
    client.force_login(admin)
    base = "/_/admin/orgs/auditevent/"
    assert client.get(base).status_code == 200
    assert client.get(f"{base}{event.pk}/change/").status_code == 200  # view only
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"{base}{event.pk}/change/", {"verb": "x"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).verb == "user.login"
