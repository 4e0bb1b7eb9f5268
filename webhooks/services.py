"""Writes for webhooks a user makes: create, update, enable/disable, delete, redeliver, test.

A webhook belongs to a user or to an organization (`org`); an org's webhooks are managed
by whoever is an admin of the org at the time (orgs/permissions.py can_manage_webhooks).

Fan-out and the delivery attempts themselves are in dispatch.py (run by workers).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from common.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RepoNotFoundError,
    ValidationError,
)
from orgs.audit import audit_log
from orgs.models import Namespace, Organization, User
from orgs.permissions import Action, can, can_manage_webhooks, namespace_can_read
from repos.models import Repo
from webhooks import dispatch, signing, ssrf
from webhooks.models import Delivery, DeliveryState, Domain, WatchedItem, WatchedType, Webhook
from webhooks.payloads import test_message
from webhooks.selectors import _signed_in

MAX_WEBHOOKS_PER_USER = 100
MAX_WATCHED_ITEMS = 100
MAX_SECRET_LENGTH = 200


def _writer(actor: User | AnonymousUser, org: Organization | None = None) -> User:
    user = _signed_in(actor, org)
    org_namespace_id = org.namespace_id if org is not None else None
    if not can_manage_webhooks(user, write=True, org_namespace_id=org_namespace_id):
        raise PermissionDeniedError(
            "Managing webhooks needs a write token (or a fine-grained one with webhooks.manage)."
        )
    return user


def _clean_watched(
    *, actor: User, watched: list[Any], org: Organization | None = None
) -> list[tuple[str, str]]:
    """(type, canonical name) pairs; the named user/org or readable repo must exist. An
    org's webhook may watch public repos and the org's own (what it will be told about)."""
    if not isinstance(watched, list):
        raise BadRequestError("watched must be a list of {type, name} items.")
    if len(watched) > MAX_WATCHED_ITEMS:
        raise BadRequestError(f"A webhook may watch at most {MAX_WATCHED_ITEMS} items.")
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for item in watched:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BadRequestError("Each watched item needs a type and a name.")
        kind, name = item.get("type"), item["name"].strip()
        if kind in ("space", "bucket"):
            raise BadRequestError(f"This hub has no {kind}s to watch.")
        if kind in (WatchedType.USER, WatchedType.ORG):
            # Users and orgs share one namespace table, so "org" items work as orgs arrive.
            namespace = Namespace.objects.filter(name__iexact=name).first()
            if namespace is None:
                raise NotFoundError(f"{kind.capitalize()} {name!r} not found.")
            canonical = namespace.name
        elif kind in (WatchedType.MODEL, WatchedType.DATASET):
            ns, _, repo_name = name.partition("/")
            repo = (
                Repo.objects.select_related("owner")
                .filter(kind=kind, owner__name__iexact=ns, name__iexact=repo_name)
                .first()
            )
            if repo is None or not can(actor, Action.READ, repo):
                raise RepoNotFoundError(f"Repository {name!r} not found.")
            if org is not None and not namespace_can_read(org.namespace_id, repo):
                raise BadRequestError(
                    f"A webhook of {org.name} can watch public repos and {org.name}'s own "
                    f"repos; {repo.full_name} is private to another owner."
                )
            canonical = repo.full_name
        else:
            raise BadRequestError(
                f"Unknown watched type {kind!r}: use user, org, model or dataset."
            )
        out.setdefault((str(kind), canonical.lower()), (str(kind), canonical))
    return list(out.values())


def _clean_domains(domains: Any) -> list[str]:
    if domains is None:
        return list(Domain.values)
    if not isinstance(domains, list) or not domains:
        raise BadRequestError("domains must be a non-empty list of 'repo' and 'discussion'.")
    for domain in domains:
        if domain not in Domain.values:
            raise BadRequestError(f"Unknown domain {domain!r}: use 'repo' or 'discussion'.")
    return [d for d in Domain.values if d in domains]


def _clean_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise BadRequestError("A webhook needs a url (jobs are not supported by this hub).")
    if len(url) > 2048:
        raise ValidationError("The webhook URL is too long.")
    ssrf.url_check(url, allow_local=settings.WEBHOOK_ALLOW_LOCAL)
    return url.strip()


def _clean_secret(secret: Any) -> str:
    if secret is None:
        return ""
    if not isinstance(secret, str) or len(secret) > MAX_SECRET_LENGTH:
        raise BadRequestError(f"secret must be text of at most {MAX_SECRET_LENGTH} characters.")
    if secret:
        signing.secret_key(secret)  # a whsec_ secret must decode
    return secret


def _set_watched(webhook: Webhook, items: list[tuple[str, str]]) -> None:
    WatchedItem.objects.filter(webhook=webhook).delete()
    WatchedItem.objects.bulk_create(
        WatchedItem(webhook=webhook, type=kind, name=name, name_lower=name.lower())
        for kind, name in items
    )


def _url_for_audit(url: str) -> str:
    """The URL without user info or query: either may carry a receiver's credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _audit(verb: str, user: User, webhook: Webhook, details: dict[str, Any]) -> None:
    audit_log(
        verb=verb,
        actor=user,
        target=webhook,
        target_id=webhook.public_id,
        target_name=f"webhook {webhook.public_id}",
        # An org's webhook is the org's business (its audit log), a user's the user's own.
        namespace=webhook.org.namespace_id if webhook.org_id else None,  # type: ignore[union-attr]
        details=details,
    )


def _audit_details(webhook: Webhook) -> dict[str, Any]:
    """What the audit log keeps of a webhook: never its secret."""
    return {
        "url": _url_for_audit(webhook.url),
        "domains": list(webhook.domains),
        "watched": [f"{w.type}:{w.name}" for w in WatchedItem.objects.filter(webhook=webhook)],
        "hasSecret": bool(webhook.secret),
    }


@transaction.atomic
def webhook_create(
    *,
    actor: User | AnonymousUser,
    url: str,
    watched: list[Any],
    domains: list[str] | None = None,
    secret: str | None = None,
    send_secret_header: bool = False,
    org: Organization | None = None,
) -> Webhook:
    """A new webhook of the actor, or of `org` when given (its admins only); 422 for an
    unsafe URL, 404 for an unknown watched item, 403 for a non-admin."""
    user = _writer(actor, org)
    items = _clean_watched(actor=user, watched=watched, org=org)
    if not items:
        raise BadRequestError("A webhook must watch at least one user, org or repo.")
    owned = Webhook.objects.filter(org=org) if org else Webhook.objects.filter(owner=user)
    if owned.count() >= MAX_WEBHOOKS_PER_USER:
        who = org.name if org else "You"
        raise BadRequestError(f"{who} can have at most {MAX_WEBHOOKS_PER_USER} webhooks.")
    webhook = Webhook.objects.create(
        owner=None if org else user,
        org=org,
        url=_clean_url(url),
        domains=_clean_domains(domains),
        secret=_clean_secret(secret),
        send_secret_header=bool(send_secret_header),
    )
    _set_watched(webhook, items)
    _audit("webhook.create", user, webhook, _audit_details(webhook))
    return webhook


@transaction.atomic
def webhook_update(
    *,
    actor: User | AnonymousUser,
    webhook: Webhook,
    url: str | None = None,
    watched: list[Any] | None = None,
    domains: list[str] | None = None,
    secret: str | None = None,
    send_secret_header: bool | None = None,
) -> Webhook:
    """Change what is given. An empty `watched` keeps the current items: huggingface_hub's
    update_webhook sends `[]` when the caller passed none (hf_api.py, update_webhook)."""
    user = _writer(actor, webhook.org)
    if url is not None:
        webhook.url = _clean_url(url)
    if domains is not None:
        webhook.domains = _clean_domains(domains)
    if secret is not None:
        webhook.secret = _clean_secret(secret)
    if send_secret_header is not None:
        webhook.send_secret_header = bool(send_secret_header)
    webhook.save()
    if watched:
        _set_watched(webhook, _clean_watched(actor=user, watched=watched, org=webhook.org))
    _audit("webhook.update", user, webhook, _audit_details(webhook))
    return webhook


def webhook_set_disabled(
    *, actor: User | AnonymousUser, webhook: Webhook, disabled: bool
) -> Webhook:
    """Enable or disable by hand; enabling clears the failure count and the reason shown."""
    user = _writer(actor, webhook.org)
    webhook.disabled = disabled
    webhook.disabled_at = timezone.now() if disabled else None
    webhook.disabled_reason = f"Disabled by {user.username}." if disabled else ""
    if not disabled:
        webhook.consecutive_failures = 0
    webhook.save(
        update_fields=[
            "disabled",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "updated_at",
        ]
    )
    _audit("webhook.disable" if disabled else "webhook.enable", user, webhook, {})
    return webhook


def webhook_delete(*, actor: User | AnonymousUser, webhook: Webhook) -> None:
    """Delete the webhook and its log; a delivery in flight finds nothing to update."""
    user = _writer(actor, webhook.org)
    with transaction.atomic():
        _audit("webhook.delete", user, webhook, {"url": _url_for_audit(webhook.url)})
        webhook.delete()


@transaction.atomic
def delivery_redeliver(*, actor: User | AnonymousUser, delivery: Delivery) -> Delivery:
    """Send a finished delivery again, same `webhook-id` (Standard Webhooks: a resend keeps
    the id), with a fresh retry budget; ConflictError while it is still queued or sending."""
    _writer(actor, delivery.webhook.org)
    if delivery.webhook.disabled:
        raise BadRequestError("Enable the webhook before redelivering.")
    now = timezone.now()
    updated = (
        Delivery.objects.filter(pk=delivery.pk)
        .exclude(state__in=[DeliveryState.PENDING, DeliveryState.SENDING])
        .update(
            state=DeliveryState.PENDING,
            round_attempts=0,
            next_attempt_at=now,
            enqueued_at=now,
            completed_at=None,
            lease_until=None,
        )
    )
    if not updated:
        raise ConflictError("This delivery is already queued or being sent.")
    dispatch.enqueue_after_commit([delivery.pk])
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def webhook_send_test(*, actor: User | AnonymousUser, webhook: Webhook) -> Delivery:
    """Queue a test payload; it is logged like any delivery but never counts toward
    auto-disabling, and is sent even while the webhook is disabled (to check a fix)."""
    _writer(actor, webhook.org)
    message = test_message(owner_name=webhook.owner_name)
    now = timezone.now()
    delivery = Delivery.objects.create(
        webhook=webhook,
        is_test=True,
        action=message.action,
        scope=message.scope,
        repo_name=message.repo_name,
        body=message.body(webhook_id=webhook.public_id),
        next_attempt_at=now,
        enqueued_at=now,
    )
    dispatch.enqueue_after_commit([delivery.pk])
    return delivery
