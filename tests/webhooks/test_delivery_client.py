"""The HTTP client: timeouts, capped bodies, no redirects (SECURITY.md 30, 33)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.webhooks.receiver import HANG, Answer, running
from webhooks.delivery import BODY_CAP, Timeouts, send


@contextmanager
def raw_server(serve: Callable[[socket.socket], None]) -> Iterator[int]:
    """A one-connection TCP server on 127.0.0.1 that runs `serve` on the accepted socket."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def run() -> None:
        listener.settimeout(30)
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            with contextlib.suppress(OSError):  # the client hung up on us: the point
                serve(conn)
            stop.wait(5)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()
        thread.join(10)


SHORT = Timeouts(connect=2, read=2, total=4)


def _send(url: str, timeouts: Timeouts = SHORT):  # type: ignore[no-untyped-def]
    return send(
        url=url,
        body=b"{}",
        headers={"Content-Type": "application/json"},
        allow_local=True,
        timeouts=timeouts,
    )


def test_a_receiver_that_never_answers_hits_the_read_timeout() -> None:
    with running([HANG]) as receiver:
        started = time.monotonic()
        result = _send(receiver.url, Timeouts(connect=2, read=1, total=10))
        elapsed = time.monotonic() - started
    assert result.status is None
    assert result.error_kind == "timeout"
    assert elapsed < 8


def test_a_trickling_receiver_is_cut_off_at_the_total_deadline() -> None:
    def trickle(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(60):
            conn.sendall(b"X")  # one byte a while: never a read timeout
            time.sleep(0.2)

    with raw_server(trickle) as port:
        started = time.monotonic()
        result = _send(f"http://127.0.0.1:{port}/", Timeouts(connect=2, read=1, total=2))
        elapsed = time.monotonic() - started
    assert result.error_kind == "timeout"
    assert elapsed < 6


def test_a_huge_body_is_read_only_up_to_the_cap() -> None:
    def flood(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
        chunk = b"x" * 65536
        for _ in range(64):  # far more than the cap; the client stops reading long before
            conn.sendall(chunk)

    with raw_server(flood) as port:
        result = _send(f"http://127.0.0.1:{port}/")
    assert result.status == 200
    assert len(result.body) == BODY_CAP


def test_a_redirect_is_not_followed() -> None:
    with running([Answer(302, headers={"Location": "http://169.254.169.254/"})]) as receiver:
        result = _send(receiver.url)
        assert len(receiver.wait_for(1)) == 1
    assert result.status == 302
    assert result.headers["location"] == "http://169.254.169.254/"


def test_a_closed_port_is_a_connect_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _send(f"http://127.0.0.1:{port}/")
    assert result.error_kind == "connect"


def test_a_refused_address_opens_no_connection() -> None:
    result = send(
        url="http://169.254.169.254/latest/meta-data/",
        body=b"{}",
        headers={},
        allow_local=True,
        timeouts=Timeouts(),
    )
    assert result.error_kind == "refused"
    assert result.duration_ms < 1000
