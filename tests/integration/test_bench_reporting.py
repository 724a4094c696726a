"""bench/run's reporting: every figure with the load average and its ratio to a baseline
measured in the same run (a bare fork+exec rate, a bare SQLite insert rate)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def benchlib(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    monkeypatch.syspath_prepend(str(BENCH))
    import baselines
    import benchlib as lib

    monkeypatch.setenv(lib.RESULTS_ENV, str(tmp_path / "results.jsonl"))
    measured = baselines.measure(quick=True)
    monkeypatch.setenv(baselines.BASELINES_ENV, baselines.to_env(measured))
    yield lib
    lib._reported.clear()


def test_baselines_are_positive_rates_with_the_load_and_how_they_were_taken() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import baselines
    finally:
        sys.path.remove(str(BENCH))
    measured = baselines.measure(quick=True)
    assert set(measured) == {"fork_exec", "sqlite_insert"}
    for b in measured.values():
        assert b.rate > 0 and b.load_avg >= 0 and b.how
    assert measured["fork_exec"].how.startswith("C (")  # a compiler is on this machine


def test_each_reported_figure_carries_the_load_and_its_ratio(benchlib: Any, tmp_path: Path) -> None:
    import baselines

    lib = benchlib
    measured = baselines.from_env()
    rate = lib.report(
        lib.Figure(name="drain", value=150.0, unit="runs/s", target=100, higher_is_better=True)
    )
    took = lib.report(lib.Figure(name="launch", value=0.5, unit="s", target=2))
    ms = lib.report(lib.Figure(name="claim", value=4.0, unit="ms", baseline="fork_exec"))
    rss = lib.report(lib.Figure(name="rss", value=70.0, unit="MiB", target=80))
    assert rate.ratio == pytest.approx(150.0 / measured["fork_exec"].rate)
    assert took.ratio == pytest.approx(0.5 * measured["sqlite_insert"].rate)
    assert ms.ratio == pytest.approx(0.004 * measured["fork_exec"].rate)
    assert rss.ratio is None and rss.load_avg is not None
    assert "load " in rate.line() and "x bare fork+exec rate" in rate.line()
    assert "x one bare SQLite insert" in took.line()
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    back = [lib.Figure(**{k: v for k, v in json.loads(x).items() if k != "met"}) for x in lines]
    assert back == [rate, took, ms, rss]  # bench/run reads what was reported, as it was


def test_bench_run_rejects_an_unknown_option_and_documents_its_own() -> None:
    env = {**os.environ}
    helped = subprocess.run(
        [sys.executable, str(BENCH / "run"), "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert helped.returncode == 0 and "--json FILE" in helped.stdout
    assert "load average" in helped.stdout
    bad = subprocess.run(
        [sys.executable, str(BENCH / "run"), "--jsno", "x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode != 0 and "unknown option '--jsno'" in bad.stderr
    assert "Traceback" not in bad.stderr
