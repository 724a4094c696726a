"""Helpers for sensor tests: configs with sensors, a recording job, a local HTTP API.

Import it explicitly (``from sensor_helpers import ...``), next to ``daemon_helpers``.

- :func:`sensor_config` writes a daemon config (short timings) with sensors and more.
- :data:`RECORD_JOB` is a command job that writes, per run, the exact bytes of
  ``{file.path}`` and ``LOCKGATE_FILE_PATH`` and a copy of the file (or the item), so a
  test compares what the job received with what was dropped.
- :class:`ApiServer` is an ``http.server`` on 127.0.0.1 in a thread whose answers a test
  sets, counting 200s and 304s and recording each request's query and headers.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from daemon_helpers import write_config

RECORDER = r'''
import json, os, shutil, sys
out = sys.argv[1]
run = os.environ["LOCKGATE_RUN_ID"]
os.makedirs(out, exist_ok=True)
record = {"run_id": int(run), "argv_hex": [os.fsencode(a).hex() for a in sys.argv[2:]],
          "env_path_hex": os.environb.get(b"LOCKGATE_FILE_PATH", b"").hex(),
          "item": os.environ.get("LOCKGATE_ITEM"), "run_key": os.environ["LOCKGATE_RUN_KEY"]}
path = os.environb.get(b"LOCKGATE_FILE_PATH")
if path:
    shutil.copyfile(path, os.path.join(out, run + ".copy"))
with open(os.path.join(out, run + ".json.tmp"), "w") as f:
    json.dump(record, f)
os.rename(os.path.join(out, run + ".json.tmp"), os.path.join(out, run + ".json"))
sys.exit(int(os.environ.get("RECORD_EXIT", "0")))
'''


def recorder(tmp_path: Path, *args: str, out: str = "out", exit_code: int = 0
             ) -> dict[str, Any]:
    """A command job recording what each run received into ``tmp_path/out/RUN_ID.json``
    (``argv_hex``: the extra ``args`` rendered; ``env_path_hex``; ``item``) and a copy
    of the triggering file as ``RUN_ID.copy``."""
    script = tmp_path / "record_job.py"
    script.write_text(RECORDER)
    return {"command": [sys.executable, str(script), str(tmp_path / out), *args],
            "env": {"RECORD_EXIT": str(exit_code)}}


def records(tmp_path: Path, out: str = "out") -> list[dict[str, Any]]:
    folder = tmp_path / out
    if not folder.exists():
        return []
    return sorted((json.loads(p.read_text()) for p in folder.glob("*.json")),
                  key=lambda r: r["run_id"])


def sensor_config(tmp_path: Path, *, url: str, sensors: Mapping[str, Any],
                  jobs: Mapping[str, Any] | None = None, assets: Mapping[str, Any] | None = None,
                  daemon: Mapping[str, Any] | None = None, definitions: list[str] | None = None,
                  launcher: Mapping[str, Any] | None = None) -> Path:
    """A daemon config with ``sensors`` (and jobs, assets, definitions modules)."""
    path = write_config(tmp_path, url=url, jobs=jobs, daemon=daemon, launcher=launcher)
    config = json.loads(path.read_text())
    config["sensors"] = dict(sensors)
    if assets:
        config["assets"] = dict(assets)
    if definitions:
        config["definitions"] = list(definitions)
    path.write_text(json.dumps(config, indent=1))
    return path


def write_file(path: Path, data: bytes | str = b"x\n") -> None:
    """Write and close a file in one go."""
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def eventually(check: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what or check}")
        time.sleep(0.05)


class Response:
    """What the API answers: status, body, headers; ``delay`` seconds before answering."""

    def __init__(self, body: bytes | str | Any = b"", status: int = 200,
                 headers: Mapping[str, str] | None = None, delay: float = 0.0) -> None:
        if not isinstance(body, bytes | str):
            body = json.dumps(body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.body = body.encode() if isinstance(body, str) else body
        self.status = status
        self.headers = dict(headers or {})
        self.delay = delay


class ApiServer:
    """A local HTTP API. ``answer(request) -> Response`` decides each reply; by default
    :attr:`resource` is served with an ETag and a Last-Modified, and conditional requests
    that match get a 304."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.resource: Response = Response({"items": []})
        self.etag = '"v0"'
        self.answer: Callable[[dict[str, Any]], Response] | None = None
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                request = {"path": parsed.path,
                           "query": dict(urllib.parse.parse_qsl(parsed.query)),
                           "headers": {k.lower(): v for k, v in self.headers.items()}}
                response = server._reply(request)
                if response.delay:
                    time.sleep(response.delay)
                try:
                    self.send_response(response.status)
                    for k, v in response.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(response.body)))
                    self.end_headers()
                    if response.status != 304:
                        self.wfile.write(response.body)
                except OSError:  # the client gave up (a timeout test)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def publish(self, body: Any, etag: str | None = None) -> None:
        """Serve ``body`` (JSON) from now on, as a new version."""
        with self.lock:
            self.etag = etag or f'"v{len(self.statuses)}-{time.monotonic_ns()}"'
            self.resource = Response(body, headers={"ETag": self.etag})

    def _reply(self, request: dict[str, Any]) -> Response:
        with self.lock:
            self.requests.append(request)
            if self.answer is not None:
                response = self.answer(request)
            elif request["headers"].get("if-none-match") == self.etag:
                response = Response(status=304, headers={"ETag": self.etag})
            else:
                response = self.resource
            self.statuses.append(response.status)
            return response

    def count(self, status: int) -> int:
        with self.lock:
            return self.statuses.count(status)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
