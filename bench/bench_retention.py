"""Retention: how long a prune holds the store, and how long other writers wait for it.

A fresh SQLite store gets ``--runs`` finished runs (default 100,000) with one attempt
each, all older than ``retention.runs``; one :class:`lockgate.runs.retention.Pruner`
pass deletes them in batches of ``retention.batch`` (100). Meanwhile a second thread
opens a write transaction every 5 ms, as a tick or a claim would, and times how long
each waited for the lock and committed. Figures:

- prune rate: runs deleted per second over the whole pass (with attempts, free pages
  returned), for comparison;
- one batch's write transaction, p50 and p99 (target p99 <= 10 ms);
- a concurrent writer's transaction during the pass, p99 and max (target p99 <= 10 ms:
  a tick or a claim waits a few milliseconds at most).

    python bench/bench_retention.py [--runs 100000] [--batch 100]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Figure, finish, report

TARGET_MS = 10.0  # "a few milliseconds" of waiting for a tick or a claim
OLD = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _fill(store: object, n: int) -> None:
    from lockgate.definitions import Definitions, Job, RunRequest
    from lockgate.runs import request_runs

    defs = Definitions(storage_url="sqlite://",
                       jobs={"load": Job(name="load", command=("true",))})
    with store.begin() as conn:  # type: ignore[attr-defined]
        request_runs(conn, [RunRequest(target="load", run_key=f"k{i}") for i in range(n)],
                     origin="sensor:bench", defs=defs, now=OLD)
    _finish_all(store)


def _finish_all(store: object) -> None:
    # The bench's own fixture: every run finished long ago, with one attempt.
    from sqlalchemy import insert, select, update

    from lockgate.store.tables import run_attempts, runs

    with store.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(update(runs).values(status="succeeded", started_at=OLD,
                                         finished_at=OLD))
        ids = [r[0] for r in conn.execute(select(runs.c.id))]
        conn.execute(insert(run_attempts), [
            {"run_id": i, "attempt": 1, "status": "succeeded", "started_at": OLD,
             "finished_at": OLD} for i in ids])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench(n: int, batch: int) -> None:
    from lockgate.definitions import RetentionSettings
    from lockgate.runs.retention import Pruner
    from lockgate.store import Store

    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{folder}/lockgate.db")
        store.upgrade()
        _fill(store, n)
        batches: list[float] = []
        plain_begin = store.begin

        @contextlib.contextmanager
        def timed_begin() -> Iterator[object]:
            start = time.perf_counter()
            with plain_begin() as conn:
                yield conn
            batches.append(time.perf_counter() - start)

        waits: list[float] = []
        done = threading.Event()

        def writer() -> None:
            while not done.is_set():
                start = time.perf_counter()
                with plain_begin() as conn:
                    conn.exec_driver_sql("SELECT 1")
                waits.append(time.perf_counter() - start)
                time.sleep(0.005)

        other = threading.Thread(target=writer)
        store.begin = timed_begin  # type: ignore[method-assign,assignment]  # times the pass only
        settings = RetentionSettings(runs=dt.timedelta(days=90), batch=batch)
        pruner = Pruner(store, settings, state_dir=folder)
        other.start()
        start = time.perf_counter()
        result = pruner.prune(NOW)
        seconds = time.perf_counter() - start
        done.set()
        other.join()
        store.close()
    deleted = result.deleted["runs"]
    report(Figure(name=f"prune rate ({deleted:,} runs, batch {batch})", value=deleted / seconds,
                  unit="runs/s", higher_is_better=True, baseline="sqlite_insert"))
    ms = [b * 1000 for b in batches]
    report(Figure(name="prune batch transaction p50", value=statistics.median(ms), unit="ms",
                  note=f"{len(ms)} transactions"))
    report(Figure(name="prune batch transaction p99", value=_pct(ms, 0.99), unit="ms",
                  target=TARGET_MS))
    w = [x * 1000 for x in waits]
    report(Figure(name="other writer during a prune p99", value=_pct(w, 0.99), unit="ms",
                  target=TARGET_MS, note=f"{len(w)} transactions"))
    report(Figure(name="other writer during a prune max", value=max(w), unit="ms"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000, help="finished runs to prune")
    parser.add_argument("--batch", type=int, default=100, help="retention.batch")
    args = parser.parse_args(argv)
    bench(args.runs, args.batch)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
