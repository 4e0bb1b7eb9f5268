"""A real HTTP receiver on 127.0.0.1 in a thread, answering from a script."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG = "hang"  # hold the request without answering until `release()` (or 120 s)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


class _Server(ThreadingHTTPServer):
    # Workers send many requests at once (threads per drain x processes); the default
    # backlog of 5 would refuse some under load and turn them into retries.
    request_queue_size = 128


class Receiver:
    def __init__(self, script: list[Answer | str] | None = None) -> None:
        self.script: list[Answer | str] = list(script or [])
        self.requests: list[Received] = []
        self.default = Answer()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def release(self) -> None:
        self._release.set()

    def wait_for(self, count: int, *, timeout: float = 60.0) -> list[Received]:
        """The first `count` requests, polling until they arrived (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests[:count])
            time.sleep(0.05)
        raise AssertionError(f"receiver got {len(self.requests)} requests, expected {count}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    answer = receiver.script.pop(0) if receiver.script else receiver.default
                if answer == HANG:
                    receiver._release.wait(120)
                    self.close_connection = True
                    return
                assert isinstance(answer, Answer)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        return Handler

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running(script: list[Answer | str] | None = None) -> Iterator[Receiver]:
    receiver = Receiver(script).start()
    try:
        yield receiver
    finally:
        receiver.stop()
