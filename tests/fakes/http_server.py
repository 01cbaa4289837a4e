"""A real HTTP server on 127.0.0.1 (ephemeral port) that serves canned responses and records every request.

Tests point Paperboy's base URLs at it, so the code under test goes through its real HTTP stack.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to stall before answering (a hanging upstream)
    drip: float = 0.0  # seconds between single bytes of the body (a server that keeps a read timeout alive)
    declared_length: int | None = None  # a Content-Length other than the real one; -1: none, body until close
    disconnect: bool = False  # close the connection without answering (after the request was taken in)


Handler = Callable[[Recorded], Reply]


class FakeServer:
    """Route table keyed by (method, path); a route is a Reply, a list of Replies served in turn, or a function."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Reply | list[Reply] | Handler] = {}
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                rec = Recorded(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
                reply = server._reply(rec)
                if reply.delay:
                    server._stop.wait(reply.delay)
                if reply.disconnect:
                    self.close_connection = True
                    return
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json", **reply.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    length = reply.declared_length if reply.declared_length is not None else len(reply.body)
                    if length >= 0:
                        self.send_header("Content-Length", str(length))
                    else:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    if not reply.drip:
                        self.wfile.write(reply.body)
                    for i in range(len(reply.body) if reply.drip else 0):
                        self.wfile.write(reply.body[i:i + 1])
                        self.wfile.flush()
                        if server._stop.wait(reply.drip):
                            break
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, method: str, path: str, reply: Reply | list[Reply] | Handler) -> None:
        self.routes[(method.upper(), path)] = reply

    def _reply(self, rec: Recorded) -> Reply:
        with self._lock:
            self.requests.append(rec)
            route = self.routes.get((rec.method, rec.path))
            if route is None:
                return Reply(404, b'{"error": "no such route in the fake server"}')
            if isinstance(route, list):
                return route.pop(0) if len(route) > 1 else route[0]
        if isinstance(route, Reply):
            return route
        return route(rec)

    def calls(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
