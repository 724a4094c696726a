"""Sensors: file-drop latency, a burst of 10,000 files, idle cost of 40 sensors.

- latency: 200 files dropped one at a time into a folder watched by the running daemon;
  from each file's close to its run row committed (the row's queued_at, stamped in the
  committing transaction). Targets: median <= 10 ms, p99 <= 50 ms.
- burst: 10,000 files written in one go: each gets exactly one run, all queued within
  10 s, daemon peak resident memory under 150 MiB.
- idle: 20 file sensors and 20 HTTP sensors polling a local server that answers 304:
  CPU of the daemon over the measurement at most 1% of one core more than an idle
  daemon without sensors.

    python bench/bench_sensors.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Figure, finish, lockgate_executable, reply_json, report


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """A `lockgate daemon` subprocess on a config written into ``folder``."""

    def __init__(self, folder: Path, body: str) -> None:
        self.folder = folder
        self.port = free_port()
        (folder / "lockgate.yaml").write_text(
            f'http: {{bind: "127.0.0.1:{self.port}"}}\n'
            "launcher: {max_concurrent_runs: 2, poll_interval: 1s}\n" + body)
        self.log = open(folder / "daemon.log", "w")  # noqa: SIM115  # closed in stop()
        self.proc = subprocess.Popen(
            [lockgate_executable(), "--log-format", "json", "daemon", "--config",
             str(folder / "lockgate.yaml")], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while "daemon_ready" not in (folder / "daemon.log").read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the daemon did not start; see {folder / 'daemon.log'}")
            time.sleep(0.05)

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.folder / ".lockgate" / "lockgate.db", timeout=30)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()


FILE_SENSOR = """
jobs:
  noop: {{command: ["true"]}}
sensors:
  drop:
    kind: file
    path: {path}
    pattern: "*.csv"
    target: noop
"""


def queued_at(conn: sqlite3.Connection, key_prefix: str) -> dt.datetime | None:
    row = conn.execute("SELECT queued_at FROM runs WHERE run_key LIKE ?",
                       (key_prefix + ":%",)).fetchone()
    return dt.datetime.fromisoformat(row[0]).replace(tzinfo=dt.UTC) if row else None


def latency(tmp: Path, count: int) -> None:
    inbox = tmp / "in"
    inbox.mkdir()
    daemon = Daemon(tmp, FILE_SENSOR.format(path=inbox))
    samples = []
    try:
        with daemon.db() as conn:
            for i in range(count):
                name = f"f{i:05d}.csv"
                with open(inbox / name, "w") as f:
                    f.write("a,b\n1,2\n")
                closed = dt.datetime.now(dt.UTC)
                deadline = time.monotonic() + 10
                while (when := queued_at(conn, name)) is None:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"no run for {name} after 10 s")
                    time.sleep(0.001)
                samples.append((when - closed).total_seconds() * 1000)
                time.sleep(0.01)
    finally:
        daemon.stop()
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    report(Figure(name=f"file drop -> run committed, median ({count})",
                  value=statistics.median(samples), unit="ms", target=10.0))
    report(Figure(name=f"file drop -> run committed, p99 ({count})", value=p99, unit="ms",
                  target=50.0))


def burst(tmp: Path, count: int) -> None:
    inbox = tmp / "in"
    inbox.mkdir()
    daemon = Daemon(tmp, FILE_SENSOR.format(path=inbox))
    try:
        start = time.monotonic()
        for i in range(count):
            (inbox / f"b{i:06d}.csv").write_text("x\n")
        with daemon.db() as conn:
            deadline = start + 60
            while (n := conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]) < count:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            elapsed = time.monotonic() - start
            doubled = conn.execute("SELECT COUNT(*) FROM (SELECT run_key FROM runs GROUP BY "
                                   "run_key HAVING COUNT(*) > 1)").fetchone()[0]
        rss = daemon.peak_rss_mib()
    finally:
        daemon.stop()
    note = f"{n} runs for {count} files, {doubled} keys doubled"
    report(Figure(name=f"burst of {count} files: all runs queued", value=elapsed, unit="s",
                  target=10.0 if n == count and not doubled else -1.0, note=note))
    report(Figure(name="burst: daemon peak RSS", value=rss, unit="MiB", target=150.0))


class _NotModified(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the stdlib's name
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.end_headers()
            return
        reply_json(self, b'{"items": []}', {"ETag": '"v1"'})

    def log_message(self, *args: object) -> None:
        pass


def idle(tmp: Path, seconds: float) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotModified)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/items"
    lines = ["jobs:", '  noop: {command: ["true"]}', "sensors:"]
    for i in range(20):
        (tmp / f"in{i}").mkdir()
        lines += [f"  files{i}: {{kind: file, path: in{i}, target: noop}}",
                  f"  api{i}: {{kind: http, url: '{url}?s={i}', items: items, "
                  "target: noop}"]
    costs = {}
    for label, body in (("bare", 'jobs:\n  noop: {command: ["true"]}\n'),
                        ("sensors", "\n".join(lines) + "\n")):
        folder = tmp / label
        folder.mkdir()
        if label == "sensors":
            for i in range(20):
                (folder / f"in{i}").mkdir()
        daemon = Daemon(folder, body)
        try:
            time.sleep(3)  # start-up work (imports, first scans) is not idle cost
            before = daemon.cpu_seconds()
            time.sleep(seconds)
            costs[label] = (daemon.cpu_seconds() - before) / seconds * 100
        finally:
            daemon.stop()
    server.shutdown()
    report(Figure(name="idle: 20 file + 20 HTTP sensors, added CPU", unit="% core",
                  value=costs["sensors"] - costs["bare"], target=1.0,
                  note=f"daemon with sensors {costs['sensors']:.2f}%, without "
                       f"{costs['bare']:.2f}% over {seconds:g} s"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer files, shorter idle")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lockgate-bench-sensors-") as tmp:
        root = Path(tmp)
        for name in ("latency", "burst", "idle"):
            (root / name).mkdir()
        latency(root / "latency", 50 if args.quick else 200)
        burst(root / "burst", 2000 if args.quick else 10_000)
        idle(root / "idle", 15 if args.quick else 60)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
