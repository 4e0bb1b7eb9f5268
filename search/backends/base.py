"""The search interface both backends implement, and the query/result types they share.

A query is a plain value (`SearchQuery`); a backend answers with repo ids in order and a
keyset cursor (`SearchPage`), and with facet counts (`facets`). Visibility is part of
every query: a backend is handed the viewer and must never return or count a repo the
viewer cannot read (the database backend filters on `Repo` itself; Elasticsearch filters
on indexed fields and the answer is checked against `Repo` again before it is used).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from django.contrib.auth.models import AnonymousUser

from common.errors import BadRequestError
from orgs.models import User

# API sort names (and the spellings older clients send) -> the backend's sort key.
SORTS = {
    "createdAt": "created_at",
    "created_at": "created_at",
    "lastModified": "last_modified",
    "last_modified": "last_modified",
    "modified": "last_modified",
    "likes": "likes",
    "downloads": "downloads",
    "trendingScore": "trending_score",
    "trending_score": "trending_score",
    "trending": "trending_score",
    "id": "id_lower",
}
FACETS = {
    "model": ("task", "library", "license", "language", "dataset"),
    "dataset": ("task", "library", "license", "language", "size"),
}
FACET_TAG_PREFIX = {
    "model": {"task": "", "library": "", "license": "license:", "language": "",
              "dataset": "dataset:"},
    "dataset": {"task": "task_categories:", "library": "library:", "license": "license:",
                "language": "language:", "size": "size_categories:"},
}  # fmt: skip


def facet_tag(kind: str, facet: str, value: str) -> str:
    """The `filter=` tag that selects repos with `value` in `facet` (license -> license:x)."""
    return FACET_TAG_PREFIX.get(kind, FACET_TAG_PREFIX["model"])[facet] + value


MAX_TERMS = 8
MAX_TERM_LENGTH = 64
# Words as both full-text engines split them: letters and digits, "_" and punctuation apart.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def sort_key(sort: str) -> str:
    key = SORTS.get(sort)
    if key is None:
        raise BadRequestError(
            f"Invalid sort {sort!r}: use createdAt, lastModified, likes, downloads or "
            "trendingScore."
        )
    return key


def text_terms(text: str) -> list[str]:
    """Lowercased words of a full-text query, bounded in number and length."""
    return [w.lower()[:MAX_TERM_LENGTH] for w in _WORD.findall(text or "")][:MAX_TERMS]


@dataclass(frozen=True)
class SearchQuery:
    kind: str
    search: tuple[str, ...] = ()  # substrings of `owner/name`, all must match (HF `search`)
    text: str = ""  # full text over name, description and card; the last word is a prefix
    names_only: bool = False  # full text over names only (suggestions as you type)
    author: str | None = None
    tags: tuple[str, ...] = ()  # every one must be among the repo's tags (HF `filter`)
    facets: tuple[tuple[str, str], ...] = ()  # (facet, value): every one must match
    gated: bool | None = None
    sort: str = "createdAt"
    descending: bool = True

    @property
    def key(self) -> str:
        return sort_key(self.sort)


@dataclass
class SearchPage:
    repo_ids: list[int]
    next_cursor: str | None


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int
    tag: str  # the `filter=` value that selects it


@dataclass
class Facets:
    total: int
    by_facet: dict[str, list[FacetCount]] = field(default_factory=dict)
    # True when `total` and the counts are estimates from a sample of the matches (the
    # database backend, past its sample size); results and pages are exact regardless.
    approximate: bool = False


Viewer = User | AnonymousUser


class SearchBackend(Protocol):
    name: str

    def index(self, *, repo_ids: list[int]) -> None:
        """Bring these repos' documents up to date from their RepoMetadata rows."""

    def remove(self, *, repo_id: int) -> None:
        """Forget a deleted repo; a no-op when it is not there."""

    def search(
        self, *, user: Viewer, query: SearchQuery, size: int, cursor: str | None = None
    ) -> SearchPage:
        """One page of ids of repos `user` may read, in the query's order."""

    def facets(self, *, user: Viewer, query: SearchQuery, per_facet: int = 10) -> Facets:
        """How many readable repos match, and the top values per facet among them."""

    def reindex(self) -> int:
        """Rebuild the whole index from the database rows; returns documents written."""
