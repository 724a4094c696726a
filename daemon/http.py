"""The daemon's HTTP endpoint: ``/healthz`` and ``/metrics`` (stdlib server, own thread)."""

from __future__ import annotations

import errno
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lockgate.errors import EnvironmentFault, SetupError

__all__ = ["HttpEndpoint"]


class HttpEndpoint:
    """Serves ``health() -> (ok, body)`` at /healthz and ``metrics() -> bytes`` at /metrics."""

    def __init__(self, bind: str, *, health: Callable[[], tuple[bool, dict[str, Any]]],
                 metrics: Callable[[], bytes]) -> None:
        host, _, port = bind.rpartition(":")
        host = host.strip("[]")
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the stdlib's name
                path = self.path.split("?", 1)[0]
                if path in ("/healthz", "/health"):
                    ok, body = endpoint.health()
                    self._send(200 if ok else 503, "application/json",
                               json.dumps(body, default=str).encode())
                elif path == "/metrics":
                    self._send(200, "text/plain; version=0.0.4; charset=utf-8",
                               endpoint.metrics())
                else:
                    self._send(404, "application/json", b'{"error": "not found; try '
                               b'/healthz or /metrics"}')

            def _send(self, code: int, kind: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # requests are not events worth a log line

        self.health = health
        self.metrics = metrics
        self.bind = bind
        self._listen_at = (host, int(port))
        self._handler = Handler
        self.address = f"{host}:{port}"  # the port the kernel chose, once started
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen and serve on a thread.

        Raises:
            SetupError: the address is not this host's, or the port is not this user's.
            EnvironmentFault: the port is in use.
        """
        try:
            self.server = ThreadingHTTPServer(self._listen_at, self._handler)
        except OSError as exc:
            # A port in use may come free (an old process still exiting); an address
            # this host does not have, or a port this user may not open, never does.
            fault = SetupError if exc.errno in (errno.EACCES, errno.EADDRNOTAVAIL) \
                else EnvironmentFault
            raise fault(
                f"cannot listen on {self.bind}: {exc.strerror}; set `http: {{bind: HOST:PORT}}` "
                "(or LOCKGATE_HTTP_BIND) to a free port on an address of this host, or "
                "stop what uses it") from None
        self.server.daemon_threads = True
        self.address = f"{self._listen_at[0]}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="lockgate-http",
                                       kwargs={"poll_interval": 0.5}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
