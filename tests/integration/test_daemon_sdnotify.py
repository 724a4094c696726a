"""The daemon speaks sd_notify to a unix datagram socket, as systemd's Type=notify expects.

READY=1 only after recovery, STATUS= lines while it runs, WATCHDOG=1 pings at half of
WATCHDOG_USEC, and STOPPING=1 when SIGTERM arrives.
"""

from __future__ import annotations

import itertools
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_helpers import (
    Daemons,
    runs,
    wait_for,
    write_config,
)


class Listener:
    """Collects (monotonic time, fields) of every datagram on a socket in tmp_path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, dict[str, str]]] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            fields = dict(line.split("=", 1) for line in data.decode().splitlines())
            self.messages.append((time.monotonic(), fields))

    def with_key(self, key: str) -> list[tuple[float, dict[str, str]]]:
        return [(t, m) for t, m in list(self.messages) if key in m]

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    opened = Listener(tmp_path / "notify.sock")
    yield opened
    opened.close()


def test_ready_after_recovery_status_watchdog_and_stopping(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, listener: Listener) -> None:
    config = write_config(tmp_path, url=sqlite_url, jobs={"long": {"command": ["sleep", "300"]}},
                          launcher={"on_daemon_exit": "stop"},  # the run is lost, not adopted
                          schedules={"once": {"cron": "* * * * * *", "target": "long",
                                              "overlap": "skip", "catchup": "none"}})
    # A first daemon (not under "systemd") leaves a running run behind.
    first = daemons.start(config)
    lost = wait_for(lambda: next((r for r in runs(sqlite_url, "schedule:once")
                                  if r["status"] == "running"), None), what="a running run")
    first.kill()

    env = {"NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": "2000000"}
    d = daemons.start(config, env=env, ready=False)
    ready = wait_for(lambda: listener.with_key("READY"), what="READY=1")
    # READY comes after recovery: the lost run is already failed when it arrives.
    recovered = next(r for r in runs(sqlite_url) if r["id"] == lost["id"])
    assert recovered["status"] == "failed" and recovered["error"].startswith("lost:")
    assert ready[0][1]["READY"] == "1"
    assert ready[0][1]["MAINPID"] == str(d.pid)
    # The killed daemon's lease has not expired yet: this one starts as the standby.
    assert ready[0][1]["STATUS"].split(";")[0] in ("leader", "standby")

    pings = wait_for(lambda: (lambda p: p if len(p) >= 4 else None)(
        listener.with_key("WATCHDOG")), what="four watchdog pings")
    assert all(m["WATCHDOG"] == "1" for _, m in pings)
    ready_at = ready[0][0]
    times = [ready_at] + [t for t, _ in pings if t >= ready_at]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Pinged at half of WATCHDOG_USEC: never as late as the period systemd enforces.
    assert max(gaps) < 2.0, gaps
    statuses = [m["STATUS"] for _, m in listener.with_key("STATUS")]
    assert len(statuses) >= 2
    assert all("schedules" in s for s in statuses if "READY" not in s)

    d.send(signal.SIGTERM)
    stopping = wait_for(lambda: listener.with_key("STOPPING"), what="STOPPING=1")
    assert stopping[0][1]["STOPPING"] == "1"
    assert d.wait() == 0
    assert listener.with_key("READY")[-1][0] < stopping[0][0]


def test_no_watchdog_pings_without_watchdog_usec(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, listener: Listener) -> None:
    config = write_config(tmp_path, url=sqlite_url)
    d = daemons.start(config, env={"NOTIFY_SOCKET": str(listener.path)})
    wait_for(lambda: listener.with_key("READY"), what="READY=1")
    # A few housekeeping rounds (STATUS lines) go by without a WATCHDOG=1.
    wait_for(lambda: len(listener.with_key("STATUS")) >= 3, what="status lines")
    assert listener.with_key("WATCHDOG") == []
    d.send(signal.SIGTERM)
    assert d.wait() == 0
    assert listener.with_key("STOPPING")
