"""Which search backend serves this process: Elasticsearch when HUB_ELASTICSEARCH_URL is
set, else the database. Settings are read here, at the edge (STYLE.md 2.7)."""

from __future__ import annotations

import functools

from django.conf import settings

from search.backends.base import SearchBackend


def search_backend(name: str | None = None) -> SearchBackend:
    """The configured backend, or the one `name`d ("db" or "es")."""
    url = getattr(settings, "ELASTICSEARCH_URL", "") or ""
    if name is None:
        name = "es" if url else "db"
    return _backend(name, url)


@functools.cache
def _backend(name: str, url: str) -> SearchBackend:
    if name == "db":
        from search.backends.db import DatabaseBackend

        return DatabaseBackend()
    if name == "es":
        from search.backends.es import ElasticsearchBackend

        if not url:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured("The es backend needs HUB_ELASTICSEARCH_URL.")
        return ElasticsearchBackend(url=url, prefix=getattr(settings, "ELASTICSEARCH_INDEX", ""))
    raise ValueError(f"unknown search backend {name!r}: use db or es")
