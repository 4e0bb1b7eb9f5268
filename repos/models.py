"""Repos and their LFS objects, plus the event outbox."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from orgs.models import Namespace, User
from orgs.permissions import readable_scope


class RepoKind(models.TextChoices):
    MODEL = "model"
    DATASET = "dataset"


# The URL segment for each kind: `/datasets/ns/name`, while models have no prefix.
URL_PREFIX = {RepoKind.MODEL: "", RepoKind.DATASET: "datasets/"}
API_PLURAL = {RepoKind.MODEL: "models", RepoKind.DATASET: "datasets"}


def _new_storage_key() -> str:
    return uuid.uuid4().hex


class RepoQuerySet(models.QuerySet["Repo"]):
    def visible_to(self, user: User | object) -> RepoQuerySet:
        """Public repos, plus private ones the user may read: one SQL condition, from the
        user's grants (its namespace, its orgs, its teams' repos; loaded once per request)."""
        scope = readable_scope(user)  # type: ignore[arg-type]
        if scope is None:
            return self
        namespace_ids, repo_ids = scope
        condition = models.Q(private=False)
        if namespace_ids:
            condition |= models.Q(owner_id__in=namespace_ids)
        if repo_ids:
            condition |= models.Q(pk__in=repo_ids)
        return self.filter(condition)


class Repo(models.Model):
    owner = models.ForeignKey(Namespace, on_delete=models.PROTECT, related_name="repos")
    name = models.CharField(max_length=96)
    kind = models.CharField(max_length=16, choices=RepoKind.choices, default=RepoKind.MODEL)
    private = models.BooleanField(default=False)
    gated = models.CharField(max_length=8, blank=True, default="")  # "", "auto", "manual"
    description = models.CharField(max_length=300, blank=True, default="")
    # The bare repository's directory name: immutable, so renames are database updates.
    storage_key = models.CharField(max_length=32, unique=True, default=_new_storage_key)
    default_branch = models.CharField(max_length=255, default="main")
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_modified = models.DateTimeField(auto_now_add=True)

    objects = RepoQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "owner", "kind", Lower("name"), name="repo_owner_kind_name_ci_unique"
            )
        ]
        indexes = [models.Index(fields=["kind", "-last_modified"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.owner.name}/{self.name}"

    @property
    def url_path(self) -> str:
        """`ns/name` for models, `datasets/ns/name` for datasets (no leading slash)."""
        return f"{URL_PREFIX[RepoKind(self.kind)]}{self.full_name}"

    @property
    def api_path(self) -> str:
        return f"{API_PLURAL[RepoKind(self.kind)]}/{self.full_name}"

    @property
    def html_url(self) -> str:
        return f"{public_base_url()}/{self.url_path}"


# Set per request by hub middleware when HUB_PUBLIC_URL is not configured.
request_base_url: ContextVar[str | None] = ContextVar("request_base_url", default=None)


def public_base_url() -> str:
    """The one base URL every absolute link is built from (hf-api-contract.md 0.7)."""
    return settings.PUBLIC_URL or request_base_url.get() or "http://127.0.0.1:8000"


class RepoRedirect(models.Model):
    """An old name of a renamed or transferred repo; answered with a redirect."""

    kind = models.CharField(max_length=16, choices=RepoKind.choices)
    full_name = models.CharField(max_length=140)
    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="redirects")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("kind", Lower("full_name"), name="redirect_kind_name_ci_unique")
        ]


class LfsObject(models.Model):
    """An object in the content-addressed store, verified (sha256 and size) on the way in."""

    oid = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)


class LfsLink(models.Model):
    """A repo may read an LFS object only when it uploaded or references it."""

    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="lfs_links")
    lfs_object = models.ForeignKey(LfsObject, on_delete=models.PROTECT, related_name="links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("repo", "lfs_object", name="lfs_link_repo_object_unique")
        ]


class EventRecord(models.Model):
    """Outbox row: written in the caller's transaction, dispatched after commit, swept if missed."""

    kind = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["pk"]


class PendingPush(models.Model):
    """A git push whose refs may move, written before they do (pre-receive); the request
    turns it into its RepoUpdated event after the response, or the sweep reconciles it with
    the refs on disk (repos/pushes.py). Finished rows stay a while as evidence for later ones."""

    class State(models.TextChoices):
        PENDING = "pending"  # approved; no event yet
        RECORDED = "recorded"  # the request published what receive-pack reported
        RECONCILED = "reconciled"  # the sweep published what it found on disk
        DROPPED = "dropped"  # the sweep found nothing to announce

    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="+")
    updates = models.JSONField()  # [{"ref", "old", "new"}] as the pre-receive hook got them
    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    token = models.ForeignKey(
        "orgs.AccessToken", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    published = models.JSONField(default=list)  # the updates this push's event carried
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["state", "created_at"]),
            models.Index(fields=["repo", "created_at"]),
        ]


class LfsLock(models.Model):
    """A Git LFS file lock (git lfs lock/unlock); one per path and repo."""

    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="lfs_locks")
    path = models.CharField(max_length=1024)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    ref = models.CharField(max_length=255, blank=True, default="")
    locked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint("repo", "path", name="lfs_lock_repo_path_unique")]
        ordering = ["pk"]


# --- lifecycle, listing, likes: likes and daily download counts -----------------------------


class Like(models.Model):
    """A user's like of a repo (huggingface_hub list_liked_repos / list_repo_likers)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="likes")
    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint("user", "repo", name="like_user_repo_unique")]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["repo", "-created_at"]),
        ]


class DownloadDay(models.Model):
    """Downloads of a repo on one UTC day; `downloads` sums the last 30 of them."""

    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="download_days")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint("repo", "day", name="download_day_repo_unique")]


# --- orgs and access requests: team repos, gated access -------------------------------------


class TeamRepo(models.Model):
    """A repo of a team (resource group): the team's members get their team role on it."""

    team = models.ForeignKey("orgs.Team", on_delete=models.CASCADE, related_name="repo_links")
    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="team_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint("team", "repo", name="team_repo_unique")]


class GateSettings(models.Model):
    """The optional questions a gated repo asks of those who request access."""

    repo = models.OneToOneField(
        Repo, on_delete=models.CASCADE, primary_key=True, related_name="gate"
    )
    questions = models.JSONField(default=list, blank=True)  # field names, in order


class AccessRequest(models.Model):
    """A user's request to download a gated repo's files (one per user and repo)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="access_requests")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_requests")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    fields = models.JSONField(default=dict, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True, default="")
    granted = models.BooleanField(default=False)  # granted by a maintainer, not requested
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    handled_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint("repo", "user", name="access_request_repo_user_unique")
        ]
        indexes = [models.Index(fields=["repo", "status", "-created_at"])]
        ordering = ["-created_at", "-pk"]


# --- end of orgs and access requests ---------------------------------------------------------


# --- quotas and usage: per-namespace quota overrides, measured git sizes ---------------------


class NamespaceQuota(models.Model):
    """A site admin's storage quota for one namespace, overriding HUB_QUOTA_USER/ORG_BYTES.

    No row: the default from settings. A row with `quota_bytes` None: unlimited.
    """

    namespace = models.OneToOneField(
        Namespace, on_delete=models.CASCADE, primary_key=True, related_name="quota"
    )
    quota_bytes = models.BigIntegerField(null=True, blank=True)
    set_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)


class RepoUsage(models.Model):
    """The size of a repo's bare git objects on disk (packs and loose objects), as last
    measured: after each push or commit (a task), and by a periodic sweep."""

    repo = models.OneToOneField(
        Repo, on_delete=models.CASCADE, primary_key=True, related_name="usage"
    )
    git_bytes = models.BigIntegerField(default=0)
    measured_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["measured_at"])]


class NamespaceUsage(models.Model):
    """A namespace's LFS bytes, each object counted once however many of its repos link it.

    Kept current as objects are linked and repos deleted or moved (repos/quotas.py), and
    recounted exactly by the periodic sweep, which heals any drift from racing writers.
    """

    namespace = models.OneToOneField(
        Namespace, on_delete=models.CASCADE, primary_key=True, related_name="usage"
    )
    lfs_bytes = models.BigIntegerField(default=0)
    counted_at = models.DateTimeField()  # the last exact count

    class Meta:
        indexes = [models.Index(fields=["counted_at"])]


# --- end of quotas and usage -----------------------------------------------------------------


# --- discussions and pull requests (the "Community" tab) ------------------------------------


class DiscussionStatus(models.TextChoices):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"
    DRAFT = "draft"


class Discussion(models.Model):
    """A discussion or pull request of a repo; both share the repo's numbering (`num`).

    A pull request's changes live on the git ref `refs/pr/{num}`; `base_ref` is the branch
    it merges into (`refs/heads/main`).
    """

    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="discussions")
    num = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    is_pull_request = models.BooleanField(default=False)
    status = models.CharField(
        max_length=8, choices=DiscussionStatus.choices, default=DiscussionStatus.OPEN
    )
    base_ref = models.CharField(max_length=255, blank=True, default="")
    merge_commit = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("repo", "num", name="discussion_repo_num_unique"),
        ]
        indexes = [models.Index(fields=["repo", "-num"])]

    def __str__(self) -> str:
        return f"{self.repo_id}#{self.num}"

    @property
    def pr_ref(self) -> str:
        return f"refs/pr/{self.num}"

    @property
    def is_open(self) -> bool:
        return self.status in (DiscussionStatus.OPEN, DiscussionStatus.DRAFT)


class DiscussionEventType(models.TextChoices):
    COMMENT = "comment"
    STATUS_CHANGE = "status-change"
    COMMIT = "commit"
    TITLE_CHANGE = "title-change"


def _new_event_id() -> str:
    return uuid.uuid4().hex[:24]  # the public hub's ids are 24 hex digits (MongoDB ObjectIds)


class DiscussionEvent(models.Model):
    """One entry of a discussion's timeline. `data` by type: comment {raw, edited, hidden},
    status-change {status}, commit {subject, oid}, title-change {from, to}."""

    discussion = models.ForeignKey(Discussion, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=24, unique=True, default=_new_event_id)
    type = models.CharField(max_length=16, choices=DiscussionEventType.choices)
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
