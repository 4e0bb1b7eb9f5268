"""Accounts: namespaces shared by users and organizations, users, access tokens."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower


class Namespace(models.Model):
    """A name that owns repos: a user's or an organization's. Names are unique ignoring case."""

    class Kind(models.TextChoices):
        USER = "user"
        ORG = "org"

    name = models.CharField(max_length=42)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("name"), name="namespace_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class HubUserManager(UserManager):
    def get_by_natural_key(self, username: str):  # type: ignore[no-untyped-def]
        return self.get(username__iexact=username)


class User(AbstractUser):
    """A person. `username` keeps the case it was given; sign-in ignores case."""

    namespace = models.OneToOneField(
        Namespace, on_delete=models.PROTECT, null=True, related_name="user"
    )
    fullname = models.CharField(max_length=120, blank=True)

    objects = HubUserManager()

    @property
    def display_name(self) -> str:
        return self.fullname or self.username


class AccessToken(models.Model):
    """A bearer token. Only its sha256 is stored; the secret is shown once at creation."""

    class Role(models.TextChoices):
        READ = "read"
        WRITE = "write"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.READ)
    digest = models.CharField(max_length=64, unique=True)
    last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @staticmethod
    def digest_of(secret: str) -> str:
        return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()

    @property
    def masked(self) -> str:
        return f"hf_…{self.last4}"

    @property
    def can_write(self) -> bool:
        return self.role == self.Role.WRITE
