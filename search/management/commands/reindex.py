"""`hubforge reindex [--backend db|es]`: rebuild the search index from every repo's card.

The database backend re-reads each repo's default branch into its rows; Elasticsearch
does that too, then builds a new versioned index and swaps the alias, so searches keep
answering from the old index until the new one is complete.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from search.backends import search_backend


class Command(BaseCommand):
    help = "Rebuild the search index (card metadata, tags, full text, sort keys)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--backend",
            choices=["db", "es"],
            default=None,
            help="which backend to rebuild (default: the configured one)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        backend = search_backend(opts["backend"])
        started = time.monotonic()
        done = backend.reindex()
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"reindexed {done} repos with the {backend.name} backend in {elapsed:.1f} s"
        )
