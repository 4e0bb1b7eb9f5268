"""The search index's rows in the database: one RepoMetadata per repo, its tags, a full-text index.

RepoMetadata is the document every backend indexes (Elasticsearch copies it); the
database backend queries it directly, joined to `Repo` for visibility, which stays the
source of truth (a stale row can never make a private repo visible). Every repo has a
row from the moment it is created (a bare one, written with the repo: handlers.py), so
listings can be driven by these rows and their sort indexes. The full-text index
lives beside it, created by migration 0002 for the database vendor: an FTS5 table kept
in sync by triggers on SQLite, a generated tsvector column with a GIN index on PostgreSQL.
"""

from __future__ import annotations

from django.db import models

from repos.models import Repo


class RepoMetadata(models.Model):
    repo = models.OneToOneField(
        Repo, on_delete=models.CASCADE, primary_key=True, related_name="search_meta"
    )
    kind = models.CharField(max_length=16)
    # The default branch's commit this row describes: a task for another commit is stale.
    indexed_sha = models.CharField(max_length=40, blank=True, default="")
    indexed_at = models.DateTimeField(auto_now=True)
    # Searchable text, copied at index time (renames reindex): `owner/name`, description, card.
    full_id = models.CharField(max_length=200, default="")
    description = models.CharField(max_length=300, blank=True, default="")
    card_text = models.TextField(blank=True, default="")
    card_data = models.JSONField(default=dict)
    tags = models.JSONField(default=list)
    library = models.CharField(max_length=200, blank=True, default="")
    pipeline_tag = models.CharField(max_length=200, blank=True, default="")
    license = models.CharField(max_length=200, blank=True, default="")
    languages = models.JSONField(default=list)
    datasets = models.JSONField(default=list)
    base_models = models.JSONField(default=list)
    base_model_relation = models.CharField(max_length=16, blank=True, default="")
    task_categories = models.JSONField(default=list)
    size_categories = models.JSONField(default=list)
    eval_results = models.JSONField(default=list)
    # Problems with the card, shown to the owner on the repo page.
    warnings = models.JSONField(default=list)
    # Sort keys. Dates are copied from the repo (at creation, then by every index task);
    # the counters are refreshed at index time, on likes and by the periodic task.
    created_at = models.DateTimeField(null=True)
    last_modified = models.DateTimeField(null=True)
    likes = models.IntegerField(default=0)
    downloads = models.IntegerField(default=0)  # last 30 days
    downloads_all_time = models.BigIntegerField(default=0)
    trending_score = models.FloatField(default=0.0)
    stats_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # One per sort, ending with the tie-breaker: a first page reads the index in order
        # and stops after a page of readable rows, whatever the number of repos.
        indexes = [
            models.Index(fields=["kind", "-trending_score", "-repo"], name="search_meta_trending"),
            models.Index(fields=["kind", "-likes", "-repo"], name="search_meta_likes"),
            models.Index(fields=["kind", "-downloads", "-repo"], name="search_meta_downloads"),
            models.Index(fields=["kind", "-created_at", "-repo"], name="search_meta_created"),
            models.Index(fields=["kind", "-last_modified", "-repo"], name="search_meta_modified"),
        ]
        verbose_name_plural = "repo metadata"

    def __str__(self) -> str:
        return self.full_id


class RepoTag(models.Model):
    """One tag of a repo (every `filter=` value is matched here), and its facet if it has one.

    `facet` is task, library, license, language, dataset or size; "" for other tags.
    """

    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="search_tags")
    tag = models.CharField(max_length=255)
    facet = models.CharField(max_length=16, blank=True, default="")
    value = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint("repo", "tag", "facet", name="search_tag_repo_tag_unique")
        ]
        indexes = [
            models.Index(fields=["tag", "repo"], name="search_tag_tag_repo"),
            models.Index(fields=["facet", "value", "repo"], name="search_tag_facet"),
        ]

    def __str__(self) -> str:
        return self.tag


class FacetCount(models.Model):
    """How many repos of a kind carry a facet value: `public` and `private` repos apart.

    Kept exact inside every transaction by database triggers (search/counts.py) on the
    tag rows, the index rows and the repos' `private` flag, so the whole-catalogue facet
    sidebar reads a few rows instead of grouping every tag. The row with facet "" and
    value "" counts the repos of the kind. Never read on its own for a viewer: private
    repos are added only for those who may read them (backends/db.py).
    """

    kind = models.CharField(max_length=16)
    facet = models.CharField(max_length=16)
    value = models.CharField(max_length=255)
    tag = models.CharField(max_length=255)
    public = models.IntegerField(default=0)
    private = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "facet", "value"], name="search_facetcount_unique"
            )
        ]
        indexes = [
            models.Index(fields=["kind", "facet", "-public", "value"], name="search_fc_top"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.facet}={self.value}: {self.public}+{self.private}"
