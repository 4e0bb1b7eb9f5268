from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from orgs.models import User
from orgs.services import user_create

GUNICORN_ACCESS_FORMAT = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'  # no query strings


class Command(BaseCommand):
    help = (
        "Serve the hub: migrate, create the first admin, then run gunicorn; in the embedded "
        "profile (no HUB_REDIS_URL) also a background worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 1)))
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="do not start a background worker (run `hubforge worker`)",
        )
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="start a background worker even in production",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self._first_admin(opts)
        env = dict(os.environ)
        if not settings.PUBLIC_URL:
            shown = "127.0.0.1" if opts["host"] in ("0.0.0.0", "::", "") else opts["host"]  # noqa: S104
            env["HUB_PUBLIC_URL"] = f"http://{shown}:{opts['port']}"
        children: list[subprocess.Popen[bytes]] = []
        embedded = not settings.REDIS_URL
        if (embedded and not opts["no_worker"]) or opts["with_worker"]:
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "hub.cli", "worker", "--beat", "--concurrency", "2"],
                    env=env,
                )
            )
        bind = (
            f"[{opts['host']}]:{opts['port']}"
            if ":" in opts["host"]
            else f"{opts['host']}:{opts['port']}"
        )
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "hub.wsgi:application",
                    "--bind",
                    bind,
                    "--worker-class",
                    "gthread",
                    "--workers",
                    str(opts["workers"]),
                    "--threads",
                    str(opts["threads"]),
                    "--timeout",
                    "600",
                    "--graceful-timeout",
                    "30",
                    # Longer than clients keep idle connections (httpx: 5 s), so a client
                    # never reuses a connection the server is closing ("Server disconnected
                    # without sending a response" on a POST, which clients do not retry).
                    "--keep-alive",
                    "75",
                    "--access-logfile",
                    "-",
                    "--access-logformat",
                    GUNICORN_ACCESS_FORMAT,
                    "--forwarded-allow-ips",
                    os.environ.get("HUB_FORWARDED_ALLOW_IPS", "127.0.0.1"),
                ],
                env=env,
            )
        )
        self.stdout.write(
            f"Hubforge is serving on {env.get('HUB_PUBLIC_URL', settings.PUBLIC_URL)}"
        )
        self.stdout.flush()
        self._supervise(children)

    def _first_admin(self, opts: dict[str, Any]) -> None:
        note = settings.DATA_DIR / "initial-admin.txt"
        if not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            name = os.environ.get("HUB_ADMIN_USER", "admin")
            user_create(
                username=name, password=password, is_admin=True, check_password_strength=False
            )
            note.touch(mode=0o600)
            note.write_text(f"user: {name}\npassword: {password}\n")
        if note.exists():
            self.stdout.write(
                f"Sign in as the admin with the user and password in {note} "
                "(delete the file once you have changed the password):\n" + note.read_text()
            )

    def _supervise(self, children: list[subprocess.Popen[bytes]]) -> None:
        stopping = False

        def stop(signum: int, _frame: Any) -> None:
            nonlocal stopping
            stopping = True
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while not stopping:
                for child in children:
                    if child.poll() is not None:
                        self.stderr.write(f"child {child.args[:4]} exited with {child.returncode}")
                        stop(signal.SIGTERM, None)
                        break
                time.sleep(0.5)
        finally:
            deadline = time.monotonic() + 30
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
