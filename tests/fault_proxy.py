"""A reverse proxy in front of a real tracking server that starts failing on cue.

Requests pass through to the server until one whose ``METHOD path`` contains ``trigger``
arrives; from then
on every request gets the fault: ``"500"`` (the server answers HTTP 500) or ``"drop"`` (the
connection is closed without an answer, as when the server dies mid-request).  The cue makes a
fault land at one chosen step of a job (registering the model, moving the alias) every time.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.mlflow_server import free_port

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Fault:
    """What the proxy does: pass until ``trigger`` is seen, then ``mode``."""

    trigger: str
    mode: str = "500"
    tripped: bool = False
    seen: list[str] = field(default_factory=list)


def _handler(upstream: str, fault: Fault) -> type[http.server.BaseHTTPRequestHandler]:
    target = urllib.parse.urlsplit(upstream)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = f"{self.command} {self.path}"
            fault.seen.append(request)
            if fault.trigger in request:
                fault.tripped = True
            if fault.tripped:
                self._fail()
                return
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in _HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            connection.close()

        def _fail(self) -> None:
            if fault.mode == "drop":
                self.close_connection = True
                return
            payload = b'{"error_code": "INTERNAL_ERROR", "message": "injected"}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any  # noqa: N815  (http.server's names)

    return Handler


@contextlib.contextmanager
def fault_proxy(upstream: str, fault: Fault) -> Iterator[str]:
    """Serve the proxy on a free port of 127.0.0.1; yield its URI."""
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _handler(upstream, fault))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
