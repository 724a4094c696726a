"""bench/bench_soak.py reports every figure of the soak and exits by its targets.

A short soak (about 15 s of load, a 4 s warm-up) against a real daemon; the figures'
values are not asserted (they depend on the machine), only that each is reported
and that the exit status agrees with the verdicts printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"

FIGURES = [
    "soak: RSS slope (daemon + lockgate children)",
    "soak: daemon open descriptors at end",
    "soak: daemon threads at end",
    "soak: store size at end",
    "soak: SQLite database file at end",
    "soak: schedule tick started - scheduled_for, p50",
    "soak: schedule tick started - scheduled_for, p99",
    "soak: file written -> run queued, p50",
    "soak: file written -> run queued, p99",
    "soak: runs lost",
    "soak: runs doubled",
    "soak: daemon CPU",
]


def test_a_short_soak_reports_every_figure_and_exits_by_its_targets(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_soak.py"), "--minutes", "0.25", "--warmup", "4",
         "--sample", "2", "--drain", "30"],
        capture_output=True, text=True, timeout=240,
        env={**os.environ, "LOCKGATE_BENCH_RESULTS": str(results)})
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stdout + done.stderr
    reported = [json.loads(line) for line in results.read_text().splitlines()]
    assert [f["name"] for f in reported] == FIGURES
    for name in FIGURES:
        assert name in done.stdout
    assert "soak: rows per table (end of warm-up -> end): " in done.stdout
    assert "runs " in done.stdout and "ticks " in done.stdout
    assert "start " in done.stdout  # descriptors and threads at start, beside the end
    assert "soak: daemon exited 0" in done.stdout
    # 1 exactly when a target was missed, and the missed one says so.
    missed = [f["name"] for f in reported if not f["met"]]
    assert done.returncode == (1 if missed else 0)
    assert ("MISSED" in done.stdout) == bool(missed)
    lost = next(f for f in reported if f["name"] == "soak: runs lost")
    assert all(f"{kind} " in lost["note"] for kind in ("file", "item", "backfill", "schedule"))


def test_the_soak_explains_its_modes_and_refuses_a_run_without_length() -> None:
    helped = subprocess.run([sys.executable, str(BENCH / "bench_soak.py"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0
    for option in ("--quick", "--full", "--minutes", "--postgres", "--warmup"):
        assert option in helped.stdout
    bad = subprocess.run([sys.executable, str(BENCH / "bench_soak.py"), "--minutes", "0"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--minutes" in bad.stderr and "Traceback" not in bad.stderr
