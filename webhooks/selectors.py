"""Reads for webhooks: a user's subscriptions and their delivery log."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet

from common.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from orgs.models import User
from orgs.permissions import can_manage_webhooks
from webhooks.models import Delivery, DeliveryAttempt, Webhook


def _signed_in(actor: User | AnonymousUser) -> User:
    if not actor.is_authenticated:
        raise AuthenticationError("You must be signed in to manage webhooks.")
    if not can_manage_webhooks(actor, write=False):
        raise PermissionDeniedError("This token's scopes do not include webhooks.manage.")
    return actor  # type: ignore[return-value]


def webhook_list(*, actor: User | AnonymousUser) -> QuerySet[Webhook]:
    """The actor's webhooks, newest first, with their watched items prefetched."""
    user = _signed_in(actor)
    return Webhook.objects.filter(owner=user).prefetch_related("watched")


def webhook_get(*, actor: User | AnonymousUser, webhook_id: str) -> Webhook:
    """One of the actor's webhooks; NotFoundError for anyone else's (never a 403)."""
    user = _signed_in(actor)
    webhook = (
        Webhook.objects.filter(owner=user, public_id=webhook_id).prefetch_related("watched").first()
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
