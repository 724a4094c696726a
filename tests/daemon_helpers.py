"""Start, watch and stop real ``lockgate daemon`` processes in tests.

Import it explicitly (``from daemon_helpers import ...``). A :class:`DaemonProcess`
reads the daemon's JSON log lines from stdout on a thread, so a test waits for an
event (``daemon_ready``, ``schedule_tick``...) instead of sleeping. A ``daemons``
fixture built on :func:`running_daemons` kills whatever a test left running.

    def test_it(tmp_path, sqlite_url, daemons):
        config = write_config(tmp_path, url=sqlite_url, jobs={...}, schedules={...})
        d = daemons.start(config)
        d.wait_event("daemon_ready")
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

LOCKGATE = str(Path(sys.executable).parent / "lockgate")
T = TypeVar("T")


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp_path: Path, *, url: str, jobs: Mapping[str, Any] | None = None,
                 schedules: Mapping[str, Any] | None = None, port: int | None = None,
                 daemon: Mapping[str, Any] | None = None,
                 launcher: Mapping[str, Any] | None = None,
                 name: str = "lockgate.yaml") -> Path:
    """A config (JSON is YAML) with short timings fit for tests; returns its path."""
    config = {
        "storage": {"url": url},
        "launcher": {"state_dir": "state", "kill_grace": "1s", "poll_interval": "100ms",
                     "heartbeat_interval": "500ms", "heartbeat_timeout": "5m",
                     **(launcher or {})},
        "daemon": {"shutdown_grace": "5s", "lease_ttl": "3s", **(daemon or {})},
        "http": {"bind": f"127.0.0.1:{port or free_port()}"},
        "jobs": dict(jobs or {}),
        "schedules": dict(schedules or {}),
    }
    path = tmp_path / name
    path.write_text(json.dumps(config, indent=1))
    return path


def http_port(config: Path) -> int:
    return int(json.loads(config.read_text())["http"]["bind"].rpartition(":")[2])


def wait_for(check: Callable[[], T | None], timeout: float = 60, what: str = "",
             interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy (returned); fail after ``timeout``."""
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what or check}")
        time.sleep(interval)


class DaemonProcess:
    """One ``lockgate daemon --config CONFIG`` child; its log events in :attr:`events`."""

    def __init__(self, config: Path, *, env: Mapping[str, str] | None = None,
                 args: tuple[str, ...] = (), port: int | None = None,
                 program: tuple[str, ...] = (LOCKGATE,)) -> None:
        self.config = config
        self.port = port or http_port(config)
        self.url = f"http://127.0.0.1:{self.port}"
        self.events: list[dict[str, Any]] = []
        self.other_lines: list[str] = []
        self._lock = threading.Lock()
        self.popen = subprocess.Popen(
            [*program, "daemon", "--config", str(config), *args], cwd=config.parent,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})})
        self._stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _read_stdout(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                with self._lock:
                    self.other_lines.append(line)
                continue
            with self._lock:
                self.events.append(event)

    def _read_stderr(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self._stderr.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def find(self, name: str, where: Callable[[dict[str, Any]], bool] | None = None
             ) -> list[dict[str, Any]]:
        """The events named ``name`` logged so far (and matching ``where``)."""
        with self._lock:
            return [e for e in self.events if e.get("event") == name
                    and (where is None or where(e))]

    def wait_event(self, name: str, where: Callable[[dict[str, Any]], bool] | None = None,
                   timeout: float = 60, count: int = 1) -> dict[str, Any]:
        """The ``count``-th event ``name`` (matching ``where``), waiting for it."""
        def seen() -> dict[str, Any] | None:
            found = self.find(name, where)
            if len(found) >= count:
                return found[count - 1]
            if self.popen.poll() is not None:
                self._readers[0].join(1)
                found = self.find(name, where)
                if len(found) >= count:
                    return found[count - 1]
                raise AssertionError(
                    f"the daemon exited ({self.popen.returncode}) before logging {name!r}; "
                    f"last events: {self.find_tail()}\nstderr: {self.stderr[-2000:]}")
            return None

        return wait_for(seen, timeout, what=f"daemon event {name!r}")

    def find_tail(self, n: int = 8) -> list[str]:
        with self._lock:
            return [e.get("event", "?") for e in self.events[-n:]]

    def ready(self, timeout: float = 60) -> DaemonProcess:
        self.wait_event("daemon_ready", timeout=timeout)
        return self

    def get(self, path: str, timeout: float = 5) -> tuple[int, bytes]:
        """(status, body) of an HTTP GET on the daemon's endpoint."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def health(self) -> tuple[int, dict[str, Any]]:
        code, body = self.get("/healthz")
        return code, json.loads(body)

    def send(self, sig: signal.Signals) -> None:
        self.popen.send_signal(sig)

    def kill(self) -> None:
        """kill -9, and reap it."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(30)
        self._join()

    def wait(self, timeout: float = 60) -> int:
        code = self.popen.wait(timeout)
        self._join()
        return code

    def _join(self) -> None:
        for reader in self._readers:
            reader.join(5)

    @property
    def running(self) -> bool:
        return self.popen.poll() is None


class Daemons:
    """The daemons one test started; :meth:`close` kills those still running."""

    def __init__(self) -> None:
        self.started: list[DaemonProcess] = []

    def start(self, config: Path, *, env: Mapping[str, str] | None = None,
              ready: bool = True, timeout: float = 60, port: int | None = None,
              program: tuple[str, ...] = (LOCKGATE,)) -> DaemonProcess:
        """Start a daemon (``port``: its HTTP port when the config does not say it;
        ``program``: the command before ``daemon``, e.g. another lockgate's)."""
        process = DaemonProcess(config, env=env, port=port, program=program)
        self.started.append(process)
        if ready:
            process.ready(timeout)
        return process

    def close(self) -> None:
        for process in self.started:
            if process.running:
                process.kill()


def running_daemons() -> Iterator[Daemons]:
    """The body of a ``daemons`` fixture: every daemon started is killed after the test.

        @pytest.fixture
        def daemons() -> Iterator[Daemons]:
            yield from running_daemons()
    """
    pool = Daemons()
    try:
        yield pool
    finally:
        pool.close()


# -- reading the store -------------------------------------------------------------------

def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a raw SQL query on the store at ``url`` (``?`` placeholders on both)."""
    from lockgate.store import Store

    store = Store.open(url)
    try:
        with store.read() as conn:
            if conn.dialect.name == "postgresql":
                sql = sql.replace("?", "%s")
            return [tuple(row) for row in conn.exec_driver_sql(sql, params).all()]
    finally:
        store.close()


def runs(url: str, origin: str | None = None) -> list[dict[str, Any]]:
    """Every run (id order) as a dict, of one origin if given."""
    from sqlalchemy import select

    from lockgate.store import Store
    from lockgate.store.tables import runs as runs_table

    store = Store.open(url)
    try:
        with store.read() as conn:
            q = select(runs_table).order_by(runs_table.c.id)
            if origin is not None:
                q = q.where(runs_table.c.origin == origin)
            return [dict(r._mapping) for r in conn.execute(q)]
    finally:
        store.close()


def ticks(url: str, trigger: str) -> list[dict[str, Any]]:
    """Every tick of a schedule (id order) as a dict; run_ids decoded."""
    from sqlalchemy import select

    from lockgate.store import Store
    from lockgate.store.tables import ticks as ticks_table

    store = Store.open(url)
    try:
        with store.read() as conn:
            rows = conn.execute(select(ticks_table).where(ticks_table.c.trigger == trigger)
                                .order_by(ticks_table.c.id)).all()
    finally:
        store.close()
    out = []
    for row in rows:
        m = dict(row._mapping)
        m["run_ids"] = json.loads(m["run_ids"]) if m["run_ids"] else []
        out.append(m)
    return out


def instant_of(run_key: str, name: str) -> dt.datetime:
    """The UTC instant in a schedule run key ``NAME:YYYY-MM-DDTHH:MM:SSZ``."""
    assert run_key.startswith(name + ":"), run_key
    return dt.datetime.strptime(run_key[len(name) + 1:], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.UTC)


def key_of(name: str, instant: dt.datetime) -> str:
    return f"{name}:{instant.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def lockgate(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a ``lockgate`` command to completion, output captured."""
    return subprocess.run([LOCKGATE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def send_signal(pid: int, sig: signal.Signals) -> None:
    os.kill(pid, sig)
