"""The daemon's idle footprint and tick accuracy.

- Idle, 20 schedules defined (none fires during the measurement): resident memory of
  the daemon process at most 80 MiB, CPU (utime + stime from /proc) at most 1 % of
  one core over 60 s (15 s with ``--quick``).
- Tick accuracy: median over 20 ticks of a per-second schedule of (the run row's
  ``queued_at`` - the scheduled instant) at most 50 ms.

    python bench/bench_daemon.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Figure, finish, lockgate_executable, report

RSS_TARGET_MIB = 80.0
CPU_TARGET_PERCENT = 1.0
TICK_TARGET_MS = 50.0
TICKS = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, schedules: dict[str, Any]) -> Path:
    config = {
        "storage": {"url": f"sqlite:///{folder / 'lockgate.db'}"},
        "launcher": {"state_dir": str(folder / "state")},
        "http": {"bind": f"127.0.0.1:{free_port()}"},
        "jobs": {"noop": {"command": ["true"]}},
        "schedules": schedules,
    }
    path = folder / "lockgate.yaml"
    path.write_text(json.dumps(config))
    return path


class Daemon:
    """``lockgate daemon`` in the background; waits for its daemon_ready event."""

    def __init__(self, config: Path) -> None:
        self.popen = subprocess.Popen([lockgate_executable(), "daemon", "--config", str(config)],
                                      cwd=config.parent, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True)
        self.ready = threading.Event()
        self.ticks: list[dict[str, Any]] = []  # schedule_tick events (logged after commit)
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(120) or self.popen.poll() is not None:
            self.stop()
            sys.exit("the daemon did not become ready")

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            if '"daemon_ready"' in line:
                self.ready.set()
            elif '"schedule_tick"' in line:
                self.ticks.append(json.loads(line))

    def cpu_seconds(self) -> float:
        stat = Path(f"/proc/{self.popen.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def idle_footprint(seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="lockgate-bench-daemon-") as tmp:
        schedules = {f"yearly_{i:02d}": {"cron": "0 3 1 1 *", "target": "noop"}
                     for i in range(20)}
        daemon = Daemon(write_config(Path(tmp), schedules))
        try:
            time.sleep(2)  # past start-up work (store upgrade, first sweep)
            cpu0, t0 = daemon.cpu_seconds(), time.monotonic()
            time.sleep(seconds)
            cpu1, t1 = daemon.cpu_seconds(), time.monotonic()
            rss = daemon.rss_mib()
        finally:
            daemon.stop()
    report(Figure(name="idle daemon resident memory (20 schedules)", value=rss, unit="MiB",
                  target=RSS_TARGET_MIB))
    report(Figure(name="idle daemon CPU (20 schedules)", value=100 * (cpu1 - cpu0) / (t1 - t0),
                  unit="%", target=CPU_TARGET_PERCENT, note=f"over {seconds:g} s"))


def tick_accuracy() -> None:
    from sqlalchemy import select

    from lockgate.store import Store
    from lockgate.store.tables import runs

    with tempfile.TemporaryDirectory(prefix="lockgate-bench-daemon-") as tmp:
        config = write_config(Path(tmp), {"every": {"cron": "* * * * * *", "target": "noop"}})
        url = json.loads(config.read_text())["storage"]["url"]
        daemon = Daemon(config)
        store = Store.open(url)
        try:
            deadline = time.monotonic() + TICKS + 30
            rows: list[tuple[str, dt.datetime]] = []
            while time.monotonic() < deadline:
                time.sleep(1)
                with store.read() as conn:
                    rows = [(r[0], r[1]) for r in conn.execute(
                        select(runs.c.run_key, runs.c.queued_at)
                        .where(runs.c.origin == "schedule:every").order_by(runs.c.id))]
                if len(rows) >= TICKS + 1:
                    break
        finally:
            daemon.stop()
            store.close()
    if len(rows) < TICKS + 1:
        sys.exit(f"only {len(rows)} ticks in time")
    lags = []
    for key, queued_at in rows[1:TICKS + 1]:  # the first may be the start-up sweep's
        instant = dt.datetime.strptime(key.split(":", 1)[1], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=dt.UTC)
        lags.append((queued_at - instant).total_seconds() * 1000)
    report(Figure(name="tick: run queued after the instant, median", value=statistics.median(lags),
                  unit="ms", target=TICK_TARGET_MS,
                  note=f"{TICKS} ticks; max {max(lags):.1f} ms"))
    # queued_at is the evaluation's `now`; the tick's log line comes after its commit.
    committed = []
    for event in daemon.ticks[1:TICKS + 1]:
        instant = dt.datetime.fromisoformat(event["scheduled_for"])
        logged = dt.datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
        committed.append((logged - instant).total_seconds() * 1000)
    if committed:
        report(Figure(name="tick: committed and logged after the instant, median",
                      value=statistics.median(committed), unit="ms",
                      note=f"{len(committed)} ticks; max {max(committed):.1f} ms"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="measure idle CPU over 15 s")
    args = parser.parse_args(argv)
    idle_footprint(15.0 if args.quick else 60.0)
    tick_accuracy()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
