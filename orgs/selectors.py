"""Reads for accounts and tokens."""

from __future__ import annotations

from django.db.models import QuerySet

from orgs.models import AccessToken, Namespace, User


def token_list(*, user: User) -> QuerySet[AccessToken]:
    return AccessToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")


def namespace_get(*, name: str) -> Namespace | None:
    return Namespace.objects.filter(name__iexact=name).first()
