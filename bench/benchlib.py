"""What every benchmark shares: timing helpers and one way to report a figure.

A benchmark is a script ``bench/bench_<what>.py`` that measures one or more figures
and calls :func:`report` for each. Its exit status says whether every target was
met (0), some target was missed (1), or the benchmark itself failed (anything
else). ``bench/run`` runs them all and prints the figures against their targets.

Every reported figure carries the 1-minute load average when it was reported and,
under ``bench/run``, its ratio to a baseline measured just before its benchmark
(``bench/baselines.py``: a bare fork+exec rate, a bare SQLite insert rate), so that
figures from a busy machine and a quiet one can be compared.

Example::

    from benchlib import Figure, finish, median_seconds, report

    def main() -> int:
        t = median_seconds(lambda: do_it(), runs=15)
        report(Figure(name="do_it median", value=t, unit="s", target=0.1))
        return finish()
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

__all__ = [
    "RESULTS_ENV",
    "Figure",
    "finish",
    "lockgate_executable",
    "median_seconds",
    "reply_json",
    "report",
]

#: bench/run names a file here; each reported figure is appended to it as a JSON line.
RESULTS_ENV = "LOCKGATE_BENCH_RESULTS"

_reported: list[Figure] = []


@dataclass(frozen=True, kw_only=True)
class Figure:
    """One measured figure and its target.

    ``higher_is_better`` flips the comparison (throughputs); ``target=None`` reports
    a figure for comparison only (a peer's time, say), which can never miss.
    """

    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = False
    note: str = ""
    # The baseline it scales with (fork_exec, sqlite_insert); None picks by unit: a
    # rate scales with fork+exec, a time with SQLite inserts, other units with none.
    baseline: str | None = None
    load_avg: float | None = None  # filled in by report()
    ratio: float | None = None  # filled in by report() when the baseline was measured

    @property
    def scales_with(self) -> str | None:
        if self.baseline is not None:
            return self.baseline
        if self.unit.endswith("/s"):
            return "fork_exec"
        if self.unit in ("s", "ms"):
            return "sqlite_insert"
        return None

    @property
    def met(self) -> bool:
        if self.target is None:
            return True
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def line(self) -> str:
        value = f"{self.value:.3f} {self.unit}"
        if self.target is None:
            verdict = "(for comparison)"
        else:
            sign = ">=" if self.higher_is_better else "<="
            verdict = f"target {sign} {self.target:g} {self.unit}: {'ok' if self.met else 'MISSED'}"
        note = f"  [{self.note}]" if self.note else ""
        return f"{self.name:<44} {value:>14}   {verdict}{note}{self.context()}"

    def context(self) -> str:
        """The load average and the ratio to the baseline, as printed after the figure."""
        from baselines import LABELS

        parts = []
        if self.load_avg is not None:
            parts.append(f"load {self.load_avg:.2f}/{os.cpu_count() or 1} cpu")
        if self.ratio is not None and self.scales_with:
            label = LABELS.get(self.scales_with, self.scales_with)
            if self.unit.endswith("/s"):
                parts.append(f"{self.ratio:.3f} x {label} rate")
            else:
                parts.append(f"{self.ratio:,.0f} x one {label}")
        return f"  ({'; '.join(parts)})" if parts else ""


def report(figure: Figure) -> Figure:
    """Print a figure, hand it to bench/run, remember it for :func:`finish`.

    Adds the load average now and, when bench/run measured the figure's baseline, the
    ratio to it."""
    import baselines

    measured = baselines.from_env().get(figure.scales_with or "")
    figure = replace(
        figure, load_avg=baselines.load_avg() if figure.load_avg is None else figure.load_avg,
        ratio=baselines.ratio(figure.value, figure.unit, measured)
        if measured is not None and figure.ratio is None else figure.ratio)
    _reported.append(figure)
    print(figure.line(), flush=True)
    results = os.environ.get(RESULTS_ENV)
    if results:
        with open(results, "a", encoding="utf-8") as f:
            f.write(json.dumps({**asdict(figure), "met": figure.met}) + "\n")
    return figure


def finish() -> int:
    """The exit status: 0 when every reported target was met, 1 otherwise."""
    return 0 if all(f.met for f in _reported) else 1


def median_seconds(fn: Callable[[], object], *, runs: int, warmup: int = 1) -> float:
    """The median wall time of ``fn()`` over ``runs`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def lockgate_executable() -> str:
    """The ``lockgate`` entry point of the running interpreter's environment.

    Benchmarks run with the virtual environment's Python (bench/run sees to it), so
    the entry point next to it is the one installed from this checkout.
    """
    candidate = Path(sys.executable).parent / ("lockgate.exe" if os.name == "nt" else "lockgate")
    if candidate.exists():
        return str(candidate)
    sys.exit(f"no lockgate entry point next to {sys.executable}; install the package first "
             "(pip install -e .)")


def reply_json(handler: Any, body: bytes, headers: dict[str, str] | None = None) -> None:
    """Answer a stdlib ``BaseHTTPRequestHandler`` request with 200 and a JSON ``body``."""
    handler.send_response(200)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
