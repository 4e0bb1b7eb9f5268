"""Git smart HTTP: the hub authenticates and authorizes, C git carries the wire protocol.

C git serves clone and fetch within a few percent of `git http-backend` (PERF-BASELINES 4b),
where dulwich was 2-3x slower; dulwich remains the library for reading and writing objects.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from common.errors import (
    AuthenticationError,
    HubError,
    PayloadTooLargeError,
    PermissionDeniedError,
)
from common.http import error_response
from common.streams import iter_gunzip, iter_wsgi_input
from orgs.permissions import Action
from repos.access_requests import require_download
from repos.discussions import pr_author_may_push
from repos.git.hooks import HookCall, Verdict, hook_server, hooks_dir, reported_ok_refs
from repos.git.policy import check_push
from repos.git.store import git_store
from repos.models import Repo
from repos.pushes import pending_push_create, pending_push_record
from repos.selectors import repo_get

logger = logging.getLogger(__name__)

SERVICES = {"git-upload-pack", "git-receive-pack"}
_CHUNK = 64 * 1024


def _git_command(service: str, path: Path, *, advertise: bool) -> list[str]:
    base = ["git", "-c", "core.logAllRefUpdates=false"]
    if service == "git-receive-pack":
        base += [
            "-c",
            f"core.hooksPath={hooks_dir(settings.DATA_DIR)}",
            "-c",
            "receive.fsckObjects=true",
            "-c",
            "receive.denyDeleteCurrent=true",
            "-c",
            f"receive.maxInputSize={settings.MAX_PUSH_BYTES}",
            "-c",
            "receive.advertisePushOptions=false",
            "-c",
            "receive.shallowUpdate=false",
            "-c",
            "transfer.advertiseSID=false",
            "receive-pack",
        ]
    else:
        base += [
            "-c",
            "uploadpack.allowFilter=true",
            "-c",
            "uploadpack.allowAnySHA1InWant=false",
            "upload-pack",
        ]
    base.append("--stateless-rpc")
    if advertise:
        base.append("--advertise-refs")
    base.append(str(path))
    return base


def _env(request: HttpRequest) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    protocol = request.META.get("HTTP_GIT_PROTOCOL", "")
    # Only pass through what git itself sends (`version=2`), never arbitrary text.
    if protocol and all(
        part.replace("=", "").replace(".", "").isalnum() for part in protocol.split(":")
    ):
        env["GIT_PROTOCOL"] = protocol
    return env


def _authorize(request: HttpRequest, *, kind: str, namespace: str, name: str, service: str) -> Repo:
    if service == "git-receive-pack":
        if not request.user.is_authenticated:
            # Ask for credentials even on public repos: git retries with them.
            raise AuthenticationError("Authentication required to push.")
        try:
            return repo_get(
                user=request.user, kind=kind, namespace=namespace, name=name, action=Action.WRITE
            )
        except PermissionDeniedError:
            # The author of an open pull request may push to its refs/pr/N (check_push).
            repo = repo_get(user=request.user, kind=kind, namespace=namespace, name=name)
            if not pr_author_may_push(actor=request.user, repo=repo):
                raise
            return repo
    repo = repo_get(user=request.user, kind=kind, namespace=namespace, name=name)
    require_download(request.user, repo)  # a gated repo's files: accepted requests only
    return repo


def _pkt_line(data: bytes) -> bytes:
    return f"{len(data) + 4:04x}".encode() + data


@csrf_exempt
def info_refs(request: HttpRequest, kind: str, namespace: str, name: str) -> HttpResponse:
    """GET .../info/refs?service=git-upload-pack|git-receive-pack (smart HTTP only)."""
    service = request.GET.get("service", "")
    if service not in SERVICES:
        return HttpResponse(
            "Hubforge serves git over the smart HTTP protocol only.\n",
            status=403,
            content_type="text/plain",
        )
    try:
        repo = _authorize(request, kind=kind, namespace=namespace, name=name, service=service)
    except HubError as exc:
        return error_response(exc)
    path = git_store().path(repo.storage_key)
    env = _env(request)
    proc = subprocess.run(
        _git_command(service, path, advertise=True),
        capture_output=True,
        env=env,
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        logger.error("git %s --advertise-refs failed: %s", service, proc.stderr[-2000:])
        return HttpResponse("git failed\n", status=500, content_type="text/plain")
    body = proc.stdout
    if "version=2" not in env.get("GIT_PROTOCOL", ""):
        body = _pkt_line(f"# service={service}\n".encode()) + b"0000" + body
    response = HttpResponse(body, content_type=f"application/x-{service}-advertisement")
    _no_cache(response)
    return response


@csrf_exempt
def service_rpc(
    request: HttpRequest, kind: str, namespace: str, name: str, service: str
) -> HttpResponse:
    """POST .../git-upload-pack or .../git-receive-pack: stream the body through C git."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    expected = f"application/x-{service}-request"
    if request.META.get("CONTENT_TYPE", "").split(";")[0].strip() != expected:
        # Exact content type only: a form or text/plain POST is never run (CSRF defence).
        return HttpResponse(
            f"expected Content-Type {expected}\n", status=415, content_type="text/plain"
        )
    try:
        repo = _authorize(request, kind=kind, namespace=namespace, name=name, service=service)
    except HubError as exc:
        return error_response(exc)
    path = git_store().path(repo.storage_key)
    body: Iterator[bytes] = iter_wsgi_input(request.environ)
    if request.META.get("HTTP_CONTENT_ENCODING", "").lower() in ("gzip", "x-gzip"):
        body = iter_gunzip(body)
    if service == "git-receive-pack":
        return _receive_pack(request, repo, path, body)
    return _run_streaming(
        _git_command(service, path, advertise=False),
        _env(request),
        body,
        content_type=f"application/x-{service}-result",
    )


def _receive_pack(
    request: HttpRequest, repo: Repo, path: Path, body: Iterator[bytes]
) -> HttpResponse:
    pending: list[int] = []

    def handle(call: HookCall) -> Verdict:
        verdict = check_push(repo=repo, git_dir=path, call=call, actor=request.user)
        if verdict.ok:
            # Committed before receive-pack moves a ref: if recording after the response
            # fails or this process dies, the event sweep still finds the push (repos/pushes.py).
            pending.append(pending_push_create(repo=repo, updates=call.updates, actor=request.user))
        return verdict

    env = _env(request)
    # The whole exchange runs inside the hook server; receive-pack reads all input before
    # it answers, so buffering its (small) report costs nothing and keeps cleanup simple.
    with hook_server(handle) as hook_folder:
        env["HUB_HOOK_DIR"] = hook_folder
        proc = subprocess.Popen(
            _git_command("git-receive-pack", path, advertise=False),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        feeder = threading.Thread(
            target=_feed, args=(proc, body, settings.MAX_PUSH_BYTES), daemon=True
        )
        feeder.start()
        assert proc.stdout is not None
        assert proc.stderr is not None
        out_chunks = []
        while True:
            data = proc.stdout.read(_CHUNK)
            if not data:
                break
            out_chunks.append(data)
        stderr = proc.stderr.read()
        proc.wait()
        feeder.join(timeout=60)
    if proc.returncode != 0 and not out_chunks:
        # No report at all: receive-pack could not parse the request (a malformed or cut-off
        # body; a broken pack still gets a report). That is the client's error, not ours.
        logger.warning("receive-pack failed for %s: %s", repo.full_name, stderr[-2000:])
        return HttpResponse(
            b"git receive-pack could not read the request\n", status=400, content_type="text/plain"
        )
    report = b"".join(out_chunks)

    def record() -> None:
        if settings.TEST_FAIL_PUSH_RECORD:  # test-only: drills the sweep's reconciliation
            raise RuntimeError("HUB_TEST_FAIL_PUSH_RECORD is set: push left to the sweep")
        for pending_id in pending:
            pending_push_record(pending_id=pending_id, ok_refs=reported_ok_refs(report), repo=repo)

    response = _AfterResponse(
        report,
        content_type="application/x-git-receive-pack-result",
        # Recorded from receive-pack's own report (only refs it says `ok` for), once the
        # client has its answer: no post-receive hook, and the event's transaction is off
        # the push's critical path (the pending row written in pre-receive is on it).
        after=record,
    )
    _no_cache(response)
    return response


class _AfterResponse(HttpResponse):
    """Runs `after` once the server has sent the response (WSGI close), before cleanup."""

    def __init__(self, *args: Any, after: Callable[[], object], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._after = after

    def close(self) -> None:
        try:
            self._after()
        except Exception:  # the push stands; the event sweep reconciles its pending row
            logger.exception("recording a push failed; left to the event sweep")
        finally:
            super().close()


def _feed(proc: subprocess.Popen[bytes], body: Iterator[bytes], limit: int | None) -> None:
    assert proc.stdin is not None
    sent = 0
    try:
        for chunk in body:
            sent += len(chunk)
            if limit is not None and sent > limit + 1024 * 1024:
                raise PayloadTooLargeError("pack exceeds maximum allowed size")
            proc.stdin.write(chunk)
    except (BrokenPipeError, OSError, PayloadTooLargeError):
        pass
    except Exception:  # a client disconnect surfaces as various errors from the server
        logger.info("request body ended early", exc_info=True)
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()


def _run_streaming(
    cmd: list[str], env: dict[str, str], body: Iterator[bytes], *, content_type: str
) -> HttpResponse:
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    feeder = threading.Thread(target=_feed, args=(proc, body, None), daemon=True)
    feeder.start()

    def stream() -> Iterator[bytes]:
        assert proc.stdout is not None
        try:
            while True:
                data = proc.stdout.read1(_CHUNK)  # type: ignore[attr-defined]
                if not data:
                    break
                yield data
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()

    response = StreamingHttpResponse(stream(), content_type=content_type)
    _no_cache(response)
    return response


def _no_cache(response: HttpResponse) -> None:
    response["Cache-Control"] = "no-cache, max-age=0, must-revalidate"
    response["Expires"] = "Fri, 01 Jan 1980 00:00:00 GMT"
    response["Pragma"] = "no-cache"
