"""What the machine itself manages right now, so figures compare between runs.

Two baselines, each a rate measured in the same run as the figures:

- ``fork_exec``: bare fork+exec of ``/bin/true`` with 16 in flight, per second. A C
  program when a C compiler is present (``cc``/``gcc``/``clang``), else
  ``subprocess.Popen`` (say so in ``how``). The worker's throughput is bounded by it.
- ``sqlite_insert``: rows per second into a WAL SQLite file through one
  ``executemany``, committed; the bulk paths (backfills, sensor bursts) are bounded by it.

A figure divided by its baseline (a rate) or multiplied by it (a time) barely moves
when the machine is busy, where the raw figure halves: see :func:`ratio`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["BASELINES_ENV", "Baseline", "from_env", "measure", "ratio", "to_env"]

#: bench/run hands the baselines it measured to every benchmark through this variable.
BASELINES_ENV = "LOCKGATE_BENCH_BASELINES"

LABELS = {"fork_exec": "bare fork+exec", "sqlite_insert": "bare SQLite insert"}

_FORK_EXEC_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int total = atoi(argv[1]), width = atoi(argv[2]), started = 0, running = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    while (started < total || running > 0) {
        while (running < width && started < total) {
            pid_t pid = fork();
            if (pid == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }
            if (pid < 0) return 2;
            started++; running++;
        }
        int status;
        if (wait(&status) > 0) running--;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
"""


@dataclass(frozen=True, kw_only=True)
class Baseline:
    name: str  # fork_exec or sqlite_insert
    rate: float  # operations per second
    how: str
    load_avg: float  # the 1-minute load average when it was measured

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)


def load_avg() -> float:
    """The 1-minute load average (0.0 where the system has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def fork_exec_rate(total: int = 2000, width: int = 16) -> Baseline:
    compiler = next((c for c in ("cc", "gcc", "clang") if shutil.which(c)), None)
    if compiler is not None:
        with tempfile.TemporaryDirectory(prefix="lockgate-baseline-") as tmp:
            source, binary = Path(tmp) / "forkexec.c", Path(tmp) / "forkexec"
            source.write_text(_FORK_EXEC_C)
            built = subprocess.run(
                [compiler, "-O2", "-o", str(binary), str(source)], capture_output=True, text=True
            )
            if built.returncode == 0:
                out = subprocess.run(
                    [str(binary), str(total), str(width)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                seconds = float(out.stdout.strip())
                return Baseline(
                    name="fork_exec",
                    rate=total / seconds,
                    load_avg=load_avg(),
                    how=f"C ({compiler}), /bin/true, {width} in flight",
                )
    started = time.perf_counter()
    running: list[subprocess.Popen[bytes]] = []
    for _ in range(total):
        if len(running) >= width:
            running.pop(0).wait()
        running.append(subprocess.Popen(["/bin/true"]))
    for p in running:
        p.wait()
    seconds = time.perf_counter() - started
    return Baseline(
        name="fork_exec",
        rate=total / seconds,
        load_avg=load_avg(),
        how=f"subprocess.Popen (no C compiler), /bin/true, {width} in flight",
    )


def sqlite_insert_rate(rows: int = 100_000) -> Baseline:
    with tempfile.TemporaryDirectory(prefix="lockgate-baseline-") as tmp:
        conn = sqlite3.connect(Path(tmp) / "baseline.db", isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT)")
            data = [(f"key-{i:09d}", "queued") for i in range(rows)]
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT DO NOTHING", data)
            conn.execute("COMMIT")
            seconds = time.perf_counter() - started
        finally:
            conn.close()
    return Baseline(
        name="sqlite_insert",
        rate=rows / seconds,
        load_avg=load_avg(),
        how=f"{rows:,} rows, one executemany, WAL, unique key",
    )


def measure(*, quick: bool = False) -> dict[str, Baseline]:
    """Both baselines now (``quick``: smaller samples, for smoke runs)."""
    return {
        "fork_exec": fork_exec_rate(total=300 if quick else 2000),
        "sqlite_insert": sqlite_insert_rate(rows=20_000 if quick else 100_000),
    }


def to_env(baselines: dict[str, Baseline]) -> str:
    import json

    return json.dumps({k: asdict(v) for k, v in baselines.items()})


def from_env() -> dict[str, Baseline]:
    """The baselines bench/run measured, or {} for a benchmark run on its own."""
    import json

    text = os.environ.get(BASELINES_ENV)
    if not text:
        return {}
    try:
        return {k: Baseline(**v) for k, v in json.loads(text).items()}
    except (ValueError, TypeError):
        print(f"ignoring a malformed {BASELINES_ENV}", file=sys.stderr)
        return {}


def ratio(value: float, unit: str, baseline: Baseline) -> float:
    """``value`` in units of the baseline: a rate divided by the baseline's rate; a time
    (``s``, ``ms``) multiplied by it (how many baseline operations fit in that time)."""
    if unit.endswith("/s"):
        return value / baseline.rate
    seconds = value / 1000 if unit == "ms" else value
    return seconds * baseline.rate
