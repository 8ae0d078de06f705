"""What every local fake of a SaaS HTTP API shares: a threaded server on a free port, its
URL, start/stop as a context manager, and a JSON reply."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping, TypeVar

F = TypeVar("F", bound="FakeHttpServer")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Under eventlet the accept loop is a greenthread that runs late; the default backlog
    # of 5 then overflows on a burst of requests and clients see "connection aborted".
    request_queue_size = 128


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real APIs

    def reply_json(self, status: int, body: Any, content_type: str = "application/json",
                   headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8")

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


class FakeHttpServer:
    """Subclasses implement ``handler()``, returning their request handler class."""

    name = "fake"
    _server: ThreadingHTTPServer | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        assert self._server is not None, f"{type(self).__name__} is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self: F) -> F:
        self._server = _Server(("127.0.0.1", 0), self.handler())
        threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self: F) -> F:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
