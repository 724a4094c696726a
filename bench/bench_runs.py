"""Runs: the ledger's bulk insert, worker throughput, and claim-to-child latency.

- Ledger: 10,000 distinct keyed requests in one ``request_runs`` call (one transaction,
  commit included) on a fresh SQLite file, then the same 10,000 again, which must
  create zero runs. Median of ``--reps`` fresh databases. Target: each call <= 0.5 s.
- Throughput: ``lockgate worker --drain`` over 2,000 queued runs of ``["true"]`` with
  ``max_concurrent_runs: 16`` on SQLite. Figure: runs / wall time of the drain process
  from spawn to exit (start-up included); also runs / (last finished_at - first
  started_at) from the records. Median of ``--reps``. Target: >= 150 runs/s.
- Claim to child started: from the run's ``started_at`` (stamped by the claim
  transaction, just before it commits) to the child's own first action, a
  ``bash -c 'echo $EPOCHREALTIME'`` whose output lands in the run's log. With
  ``max_concurrent_runs: 1``, so each run is claimed alone and nothing queues behind a
  batch; median over 200 runs. Target: <= 20 ms. The same delay inside the 16-wide
  throughput batches is reported for comparison (a batch's later children wait for
  the earlier ones to be spawned).

    python bench/bench_runs.py [--reps 3] [--runs 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Figure, finish, lockgate_executable, report

LEDGER_TARGET_S = 0.5
THROUGHPUT_TARGET = 150.0
LATENCY_TARGET_MS = 20.0


def _project(folder: Path, jobs: dict[str, object], max_concurrent: int) -> Path:
    config = {
        "storage": {"url": f"sqlite:///{folder / 'lockgate.db'}"},
        "launcher": {"state_dir": "state", "max_concurrent_runs": max_concurrent},
        "jobs": jobs,
    }
    path = folder / "lockgate.yaml"
    path.write_text(json.dumps(config))
    return path


def _queue(config: Path, target: str, n: int) -> None:
    from lockgate.definitions import RunRequest
    from lockgate.runs import request_runs
    from lockgate.settings import load_definitions
    from lockgate.store import Store
    from lockgate.time import clock

    defs = load_definitions(config)
    store = Store.open(defs.storage_url)
    try:
        store.upgrade()
        with store.begin() as conn:
            request_runs(conn, [RunRequest(target=target)] * n, origin="manual", defs=defs,
                         now=clock.now())
    finally:
        store.close()


def _finished_runs(config: Path) -> list[object]:
    from lockgate.runs import list_runs
    from lockgate.settings import load_definitions
    from lockgate.store import Store

    store = Store.open(load_definitions(config).storage_url)
    try:
        with store.read() as conn:
            return list_runs(conn, limit=None)  # type: ignore[return-value]
    finally:
        store.close()


def _drain(config: Path) -> float:
    """Wall seconds of ``lockgate worker --drain``; raises unless it exits 0."""
    started = time.perf_counter()
    result = subprocess.run([lockgate_executable(), "--config", str(config), "worker",
                             "--drain"], cwd=config.parent, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"worker --drain exited {result.returncode}: {result.stderr[-2000:]}")
    return took


# -- ledger ----------------------------------------------------------------------------


def bench_ledger(reps: int) -> None:
    from lockgate.definitions import Definitions, Job, RunRequest
    from lockgate.runs import request_runs
    from lockgate.store import Store
    from lockgate.time import clock

    defs = Definitions(storage_url="sqlite://", jobs={"load": Job(name="load",
                                                                  command=("true",))})
    requests = [RunRequest(target="load", run_key=f"2024-01-01T{i:05d}")
                for i in range(10_000)]
    first: list[float] = []
    second: list[float] = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory(prefix="lockgate-bench-") as tmp:
            store = Store.open(f"sqlite:///{tmp}/ledger.db")
            store.upgrade()
            for times, expect in ((first, 10_000), (second, 0)):
                start = time.perf_counter()
                with store.begin() as conn:
                    outs = request_runs(conn, requests, origin="backfill:1", defs=defs,
                                        now=clock.now())
                times.append(time.perf_counter() - start)
                created = sum(o.created for o in outs)
                if created != expect:
                    raise SystemExit(f"ledger: expected {expect} runs created, got {created}")
            store.close()
    note = f"median of {reps}, SQLite"
    report(Figure(name="ledger: 10,000 new keys in one call", value=statistics.median(first),
                  unit="s", target=LEDGER_TARGET_S, note=note))
    report(Figure(name="ledger: the same 10,000 again (0 created)",
                  value=statistics.median(second), unit="s", target=LEDGER_TARGET_S,
                  note=note))


# -- throughput and latency -----------------------------------------------------------------


def _delays_ms(config: Path) -> list[float]:
    """Claim (started_at) to the child's $EPOCHREALTIME, per succeeded run."""
    out = []
    for run in _finished_runs(config):
        if run.status != "succeeded":  # type: ignore[attr-defined]
            raise SystemExit(f"run {run.id} {run.status}: {run.error}")  # type: ignore[attr-defined]
        lines = Path(run.log_path).read_text().split()  # type: ignore[attr-defined]
        child = dt.datetime.fromtimestamp(float(lines[-1]), dt.UTC)
        out.append((child - run.started_at).total_seconds() * 1000)  # type: ignore[attr-defined]
    return out


def bench_throughput(reps: int, runs: int) -> list[float]:
    by_wall: list[float] = []
    by_span: list[float] = []
    batch_delays: list[float] = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory(prefix="lockgate-bench-") as tmp:
            config = _project(Path(tmp), {"noop": {"command": ["true"]}}, 16)
            _queue(config, "noop", runs)
            wall = _drain(config)
            done = _finished_runs(config)
            if len(done) != runs or {r.status for r in done} != {"succeeded"}:  # type: ignore[attr-defined]
                raise SystemExit("throughput: not every run succeeded")
            first = min(r.started_at for r in done)  # type: ignore[attr-defined]
            last = max(r.finished_at for r in done)  # type: ignore[attr-defined]
            by_wall.append(runs / wall)
            by_span.append(runs / (last - first).total_seconds())
        with tempfile.TemporaryDirectory(prefix="lockgate-bench-") as tmp:
            config = _project(Path(tmp), {"stamp": {"command": [
                "bash", "-c", "echo $EPOCHREALTIME"]}}, 16)
            _queue(config, "stamp", 200)
            _drain(config)
            batch_delays.extend(_delays_ms(config))
    note = f"{runs} runs of ['true'], 16 slots, median of {reps}"
    report(Figure(name="worker --drain throughput (process wall)",
                  value=statistics.median(by_wall), unit="runs/s", target=THROUGHPUT_TARGET,
                  higher_is_better=True, note=note + ", start-up included"))
    report(Figure(name="worker --drain throughput (first start..last end)",
                  value=statistics.median(by_span), unit="runs/s", target=THROUGHPUT_TARGET,
                  higher_is_better=True, note=note))
    return batch_delays


def bench_latency(reps: int, batch_delays: list[float]) -> None:
    delays: list[float] = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory(prefix="lockgate-bench-") as tmp:
            config = _project(Path(tmp), {"stamp": {"command": [
                "bash", "-c", "echo $EPOCHREALTIME"]}}, 1)
            _queue(config, "stamp", 200)
            _drain(config)
            delays.extend(_delays_ms(config))
    report(Figure(name="claim to child started, median", value=statistics.median(delays),
                  unit="ms", baseline="fork_exec", target=LATENCY_TARGET_MS,
                  note=f"{len(delays)} runs, one slot; p90 "
                       f"{statistics.quantiles(delays, n=10)[-1]:.1f} ms"))
    report(Figure(name="claim to child started, 16-wide batches",
                  value=statistics.median(batch_delays), unit="ms", baseline="fork_exec",
                  note=f"{len(batch_delays)} runs; p90 "
                       f"{statistics.quantiles(batch_delays, n=10)[-1]:.1f} ms"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each figure")
    parser.add_argument("--runs", type=int, default=2000, help="runs in the throughput drain")
    args = parser.parse_args(argv)
    bench_ledger(args.reps)
    batch_delays = bench_throughput(args.reps, args.runs)
    bench_latency(args.reps, batch_delays)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
