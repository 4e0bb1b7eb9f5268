from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run a Celery worker for the hub's background work (with --beat: the periodic sweeps)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=2)
        parser.add_argument("--beat", action="store_true", help="also run the periodic scheduler")
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args: Any, **opts: Any) -> None:
        from django.conf import settings

        from hub.celery import app

        argv = [
            "worker",
            f"--loglevel={opts['loglevel']}",
            f"--concurrency={opts['concurrency']}",
            "--without-gossip",
            "--without-mingle",
        ]
        if opts["beat"]:
            argv += ["--beat", f"--schedule={settings.DATA_DIR / 'celerybeat-schedule'}"]
        app.worker_main(argv)
