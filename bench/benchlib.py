"""What every benchmark shares: timing helpers and one way to report a figure.

A benchmark is a script ``bench/bench_<what>.py`` that measures one or more figures
and calls :func:`report` for each. Its exit status says whether every target was
met (0), some target was missed (1), or the benchmark itself failed (anything
else). ``bench/run`` runs them all and prints the figures against their targets.

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
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = [
    "RESULTS_ENV",
    "Figure",
    "finish",
    "lockgate_executable",
    "median_seconds",
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
        return f"{self.name:<44} {value:>14}   {verdict}{note}"


def report(figure: Figure) -> Figure:
    """Print a figure, hand it to bench/run, remember it for :func:`finish`."""
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
