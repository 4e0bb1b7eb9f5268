"""Fallback C git server when nginx + fcgiwrap cannot be installed: a minimal threaded HTTP
server that runs `git http-backend` as CGI per request (streams the response, de-chunks the
request body). Usage: python _cgi_bridge.py PORT GIT_PROJECT_ROOT. Binds 127.0.0.1 only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

BACKEND = "/usr/lib/git-core/git-http-backend"
ROOT = ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _run(self) -> None:
        url = urlsplit(self.path)
        if not url.path.startswith("/git/"):
            self.send_error(404)
            return
        body = self._body() if self.command == "POST" else b""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            GIT_PROJECT_ROOT=ROOT,
            GIT_HTTP_EXPORT_ALL="1",
            REMOTE_USER="bench",
            REQUEST_METHOD=self.command,
            PATH_INFO=url.path[len("/git") :],
            QUERY_STRING=url.query,
            CONTENT_TYPE=self.headers.get("Content-Type", ""),
            CONTENT_LENGTH=str(len(body)),
            GATEWAY_INTERFACE="CGI/1.1",
            REMOTE_ADDR=self.client_address[0],
        )
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = env["HTTP_GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        proc = subprocess.Popen([BACKEND], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        assert proc.stdin
        assert proc.stdout
        feeder = threading.Thread(target=lambda: (proc.stdin.write(body), proc.stdin.close()))
        feeder.start()
        status, headers = "200 OK", []
        while True:
            line = proc.stdout.readline().rstrip(b"\r\n").decode("latin-1")
            if not line:
                break
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = value.strip()
            else:
                headers.append((key, value.strip()))
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while True:
            data = proc.stdout.read1(65536)  # type: ignore[attr-defined]
            if not data:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.write(b"0\r\n\r\n")
        feeder.join()
        proc.wait()

    do_GET = do_POST = _run


if __name__ == "__main__":
    if not shutil.os.path.exists(BACKEND):
        sys.exit(f"{BACKEND} missing")
    ROOT = sys.argv[2]
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
