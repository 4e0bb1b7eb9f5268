"""The one HTTP client webhooks go through: resolve, check, connect to the checked address.

http.client never follows redirects, so a `302 Location: http://169.254.169.254/` is just an
answer (SECURITY.md 30). Timeouts: connect, each read, and a watchdog that shuts the socket
at a total deadline, so a receiver trickling a byte a second cannot hold the worker.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

from webhooks.ssrf import ResolutionError, Resolver, UnsafeTargetError, parse_url, resolve_checked

BODY_CAP = 64 * 1024
USER_AGENT = "Hubforge-Webhooks/1.0"


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 10.0
    total: float = 30.0


@dataclass
class SendResult:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    duration_ms: int = 0
    error: str = ""
    # "refused" (SSRF guard: final), "dns", "connect", "timeout", "network" (all transient)
    error_kind: str = ""


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a checked IP while the Host header keeps the URL's name."""

    def __init__(
        self, host: str, port: int, *, ip: str, connect_timeout: float, read_timeout: float
    ) -> None:
        super().__init__(host, port, timeout=connect_timeout)
        self._ip = ip
        self._read_timeout = read_timeout

    def _open_socket(self) -> socket.socket:
        sock = socket.create_connection((self._ip, self.port), timeout=self.timeout)
        sock.settimeout(self._read_timeout)
        return sock

    def connect(self) -> None:
        self.sock = self._open_socket()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443

    def connect(self) -> None:
        context = ssl.create_default_context()
        # SNI and certificate checks use the URL's name, not the address we connect to.
        self.sock = context.wrap_socket(self._open_socket(), server_hostname=self.host)


def send(
    *,
    url: str,
    body: bytes,
    headers: dict[str, str],
    allow_local: bool,
    timeouts: Timeouts,
    resolver: Resolver | None = None,
) -> SendResult:
    """POST `body` to `url` once; never raises for network trouble, reports it in the result."""
    started = time.monotonic()
    result = SendResult()
    try:
        target = parse_url(url)
        addresses = resolve_checked(target, allow_local=allow_local, resolver=resolver)
    except ResolutionError as exc:
        result.error, result.error_kind = exc.message, "dns"
        return result
    except UnsafeTargetError as exc:
        result.error, result.error_kind = exc.message, "refused"
        return result
    conn_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = conn_class(
        target.host,
        target.port,
        ip=addresses[0],
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
    )
    expired = threading.Event()

    def _abort() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to stop
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(timeouts.total, _abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.putrequest("POST", target.path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        result.status = response.status
        result.headers = {k.lower(): v for k, v in response.getheaders()}
        result.body = _read_capped(response)
    except TimeoutError as exc:
        result.error, result.error_kind = f"Timed out: {exc or 'no answer'}", "timeout"
    except ConnectionRefusedError:
        result.error, result.error_kind = "Connection refused", "connect"
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        if expired.is_set():
            result.error = f"No complete answer within {timeouts.total:g} s"
            result.error_kind = "timeout"
        else:
            result.error, result.error_kind = f"{type(exc).__name__}: {exc}"[:500], "network"
    finally:
        watchdog.cancel()
        conn.close()
        result.duration_ms = int((time.monotonic() - started) * 1000)
    if expired.is_set():
        # The deadline cut the answer short (a trickle): whatever status line came is not a
        # complete answer, so this counts as a timeout and is retried.
        said = f" (status line said {result.status})" if result.status is not None else ""
        result.status = None
        result.error = f"No complete answer within {timeouts.total:g} s{said}"
        result.error_kind = "timeout"
    # Otherwise, when a status line arrived, it decides the outcome even if the body broke off.
    return result


def _read_capped(response: http.client.HTTPResponse) -> bytes:
    """At most BODY_CAP bytes; the rest is never read (the connection is closed after)."""
    chunks: list[bytes] = []
    remaining = BODY_CAP
    while remaining > 0:
        chunk = response.read1(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
