"""Accounts: namespaces shared by users and organizations, users, access tokens."""

from __future__ import annotations

import hashlib
from typing import Any, NoReturn

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


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


# --- tokens and audit log (fine-grained tokens, AuditEvent) ---------------------------------


class AccessToken(models.Model):
    """A bearer token. Only its sha256 is stored; the secret is shown once at creation.

    A `fineGrained` token carries `scopes` (orgs/tokens.py): a list of
    `{"type", "id", "name", "permissions"}` entries naming a repo (type model/dataset, id of
    the repo) or a namespace (type user/org, id of the namespace).
    """

    class Role(models.TextChoices):
        READ = "read"
        WRITE = "write"
        FINE_GRAINED = "fineGrained"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.READ)
    digest = models.CharField(max_length=64, unique=True)
    last4 = models.CharField(max_length=4)
    scopes = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})"

    @staticmethod
    def digest_of(secret: str) -> str:
        return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()

    @property
    def masked(self) -> str:
        return f"hf_…{self.last4}"

    @property
    def can_write(self) -> bool:
        """A classic write token; fine-grained tokens are judged per scope (orgs/tokens.py)."""
        return self.role == self.Role.WRITE

    @property
    def is_fine_grained(self) -> bool:
        return self.role == self.Role.FINE_GRAINED

    def is_expired(self, now: Any = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class AppendOnlyQuerySet(models.QuerySet):  # type: ignore[type-arg]
    """Audit rows are never changed or removed by the application."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError("Audit events are append-only.")

    def delete(self) -> NoReturn:  # type: ignore[override]
        raise TypeError("Audit events are append-only.")


class AuditEvent(models.Model):
    """Who did what to which target, from where. Append-only; never holds a secret.

    Actor, token and namespace are kept as plain ids (no database constraint, nothing
    cascades): the record outlives the user, token or org it names, and `actor_name`,
    `token_name` and `namespace_name` keep what was true when it happened.
    """

    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    token_id = models.BigIntegerField(null=True, blank=True)
    token_name = models.CharField(max_length=100, blank=True)
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_name = models.CharField(max_length=200, blank=True)
    namespace = models.ForeignKey(
        Namespace,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    namespace_name = models.CharField(max_length=42, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["namespace", "-created_at"], name="audit_ns_created"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_created"),
            models.Index(fields=["verb", "-created_at"], name="audit_verb_created"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.verb}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        raise TypeError("Audit events are append-only.")


# --- end of tokens and audit log -------------------------------------------------------------


# --- organizations, members, invitations, teams ---------------------------------------------


class OrgRole(models.TextChoices):
    """Roles as on the public hub: read < contributor < write < admin.

    A contributor reads every repo of the org, creates repos in it and writes to the repos it
    created; write writes to all of them; admin also manages members, teams and settings.
    """

    READ = "read"
    CONTRIBUTOR = "contributor"
    WRITE = "write"
    ADMIN = "admin"


class TeamRole(models.TextChoices):
    """What a team member may do on the team's repos (and nothing else of the org)."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class Organization(models.Model):
    """An organization: a namespace that people share through memberships and teams."""

    namespace = models.OneToOneField(Namespace, on_delete=models.PROTECT, related_name="org")
    fullname = models.CharField(max_length=120, blank=True)
    # A file name under DATA_DIR/avatars; empty: a generated initials SVG.
    avatar = models.CharField(max_length=80, blank=True, default="")
    default_private = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.namespace.name

    @property
    def name(self) -> str:
        return self.namespace.name

    @property
    def display_name(self) -> str:
        return self.fullname or self.namespace.name

    @property
    def avatar_url(self) -> str:
        return f"/organizations/{self.namespace.name}/avatar"


class Membership(models.Model):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.READ)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint("org", "user", name="membership_org_user_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.org_id}:{self.role}"


class Invitation(models.Model):
    """An invitation to join an org, to a user by name or to an email address."""

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        DECLINED = "declined"

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    invitee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(blank=True, default="")
    role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.READ)
    token = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation {self.pk} to {self.org_id} ({self.status})"


class Team(models.Model):
    """A resource group: its members get their team role on the team's repos only.

    The repos are linked from the repos app (repos.TeamRepo, related name `repo_links`),
    since orgs cannot import repos.
    """

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=64)
    description = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("org", Lower("name"), name="team_org_name_ci_unique")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="team_memberships")
    role = models.CharField(max_length=16, choices=TeamRole.choices, default=TeamRole.READ)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint("team", "user", name="team_member_unique")]


# --- end of organizations, members, invitations, teams --------------------------------------


# --- org token blocks ------------------------------------------------------------------------


class OrgTokenBlock(models.Model):
    """An org admin cut an access token off the org (orgs/org_tokens.py): in that org the
    token gets no more than an anonymous visitor (public reads); elsewhere it works as
    before. Its owner's role is untouched, so a session or another token still works."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="token_blocks")
    token = models.ForeignKey(AccessToken, on_delete=models.CASCADE, related_name="org_blocks")
    blocked_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint("org", "token", name="org_token_block_unique")]

    def __str__(self) -> str:
        return f"token {self.token_id} blocked in {self.org_id}"
