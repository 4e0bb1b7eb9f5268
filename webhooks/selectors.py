"""Reads for webhooks: a user's or an organization's subscriptions and their delivery log."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet

from common.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from orgs.models import Organization, User
from orgs.permissions import can_manage_webhooks
from webhooks.models import Delivery, DeliveryAttempt, Webhook


def _signed_in(actor: User | AnonymousUser, org: Organization | None = None) -> User:
    """The actor, if it may see the webhooks of its own account or, with `org`, of that
    organization (its admins); raises 401, or 403 naming what is missing."""
    if not actor.is_authenticated:
        raise AuthenticationError("You must be signed in to manage webhooks.")
    if org is not None:
        if not can_manage_webhooks(actor, write=False, org_namespace_id=org.namespace_id):
            raise PermissionDeniedError(
                f"Only admins of {org.name} manage its webhooks (with a token that has "
                f"webhooks.manage on {org.name}, if fine-grained)."
            )
    elif not can_manage_webhooks(actor, write=False):
        raise PermissionDeniedError("This token's scopes do not include webhooks.manage.")
    return actor  # type: ignore[return-value]


def _owned(user: User, org: Organization | None) -> QuerySet[Webhook]:
    if org is not None:
        return Webhook.objects.filter(org=org)
    return Webhook.objects.filter(owner=user, org__isnull=True)


def webhook_list(
    *, actor: User | AnonymousUser, org: Organization | None = None
) -> QuerySet[Webhook]:
    """The actor's webhooks (or the org's, for its admins), newest first, watched items
    prefetched."""
    user = _signed_in(actor, org)
    return _owned(user, org).select_related("owner", "org__namespace").prefetch_related("watched")


def webhook_get(
    *, actor: User | AnonymousUser, webhook_id: str, org: Organization | None = None
) -> Webhook:
    """One of the actor's webhooks (or of `org`, for its admins); NotFoundError for anyone
    else's (never a 403), and for an org's webhook asked for as a user's or the reverse."""
    user = _signed_in(actor, org)
    webhook = (
        _owned(user, org)
        .filter(public_id=webhook_id)
        .select_related("owner", "org__namespace")
        .prefetch_related("watched")
        .first()
    )
    if webhook is None:
        raise NotFoundError(f"Webhook {webhook_id} not found.")
    return webhook


def delivery_list(*, webhook: Webhook, limit: int = 50) -> list[Delivery]:
    """The newest deliveries of `webhook` with their attempts, newest attempt first."""
    return list(
        Delivery.objects.filter(webhook=webhook)
        .prefetch_related(
            Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("-number", "-pk"))
        )
        .order_by("-created_at", "-pk")[:limit]
    )


def delivery_get(*, webhook: Webhook, message_id: str) -> Delivery:
    delivery = (
        Delivery.objects.filter(webhook=webhook, message_id=message_id)
        .prefetch_related(
            Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("-number", "-pk"))
        )
        .first()
    )
    if delivery is None:
        raise NotFoundError(f"Delivery {message_id} not found.")
    return delivery
