"""Backfills and partition status at scale: 87,672 hourly partitions on SQLite.

The asset is hourly from 2015-01-01 to 2025-01-01 in America/New_York (87,672
partitions, DST nights included). Each figure is the median of a few repetitions, each
on a fresh SQLite file (in a temporary folder) and a fresh partition set (no key cache
carried over):

- launch in-process: ``plan_backfill`` + ``launch_backfill`` of ``--all`` in one
  transaction, until every run is queued (target 2 s); and the wall time of
  ``lockgate backfill launch ASSET --all`` (same target; includes start-up and import);
- dry run in-process: ``plan_backfill`` of ``--all`` (target 0.5 s); and the wall time
  of ``lockgate backfill launch ASSET --all --dry-run``;
- status in-process: ``load_states`` + ``collapse`` + the health bar with 87,672
  partitions of mixed status (target 0.5 s); and the wall time of
  ``lockgate partitions ASSET``.

    python bench/bench_backfill.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Figure, finish, lockgate_executable, report

PARTITIONS = 87_672
LAUNCH_TARGET, DRY_RUN_TARGET, STATUS_TARGET = 2.0, 0.5, 0.5
SPEC = {"cadence": "hourly", "start": "2015-01-01T00:00", "end": "2025-01-01T00:00",
        "timezone": "America/New_York"}


def project(folder: Path) -> Path:
    config = folder / "lockgate.yaml"
    config.write_text(json.dumps({
        "storage": {"url": f"sqlite:///{folder / 'lockgate.db'}"},
        "launcher": {"state_dir": "state"},
        "assets": {"events": {"command": ["true"], "partitions": SPEC}},
    }))
    return config


def fresh_store(folder: Path) -> tuple[object, object]:
    from lockgate.settings import load_definitions
    from lockgate.store import Store

    defs = load_definitions(project(folder))
    store = Store.open(defs.storage_url)
    store.upgrade()
    return defs, store


def fresh_set(defs: object) -> Callable[[str], object]:
    """A partition set with empty caches, as a new process would have."""
    from lockgate.partitions import StaticPartitions, TimeWindowPartitions

    made: dict[str, object] = {}

    def of(name: str) -> object:
        if name not in made:
            spec = defs.assets[name].partitions  # type: ignore[attr-defined]
            made[name] = (StaticPartitions if spec.is_static else TimeWindowPartitions)(spec)
        return made[name]

    return of


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def launch_in_process(runs: int) -> tuple[float, int]:
    from lockgate.partitions.backfill_launch import launch_backfill
    from lockgate.partitions.backfill_plan import Selection, plan_backfill
    from lockgate.time import clock

    times, queued = [], 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="lockgate-bench-") as tmp:
            defs, store = fresh_store(Path(tmp))
            psets = fresh_set(defs)

            def launch(store: object = store, defs: object = defs,
                       psets: Callable[[str], object] = psets) -> None:
                with store.begin() as conn:  # type: ignore[attr-defined]
                    plan = plan_backfill(conn, defs, "events", Selection(all=True),  # type: ignore[arg-type]
                                         partition_set_of=psets, now=clock.now())
                    launch_backfill(conn, plan, defs, now=clock.now())  # type: ignore[arg-type]

            times.append(timed(launch))
            with store.read() as conn:  # type: ignore[attr-defined]
                queued = conn.exec_driver_sql(
                    "SELECT COUNT(*) FROM runs WHERE status = 'queued'").scalar()
            store.close()  # type: ignore[attr-defined]
    return median(times), int(queued)


def dry_run_in_process(runs: int) -> float:
    from lockgate.partitions.backfill_plan import Selection, plan_backfill
    from lockgate.settings import load_definitions
    from lockgate.time import clock

    with tempfile.TemporaryDirectory(prefix="lockgate-bench-") as tmp:
        defs = load_definitions(project(Path(tmp)))
        times = []
        for _ in range(runs):
            psets = fresh_set(defs)
            times.append(timed(lambda psets=psets: plan_backfill(  # type: ignore[misc]
                None, defs, "events", Selection(all=True), partition_set_of=psets,
                now=clock.now()).summary()))
    return median(times)


def seed_mixed_status(store: object, defs: object) -> None:
    """Materialized mostly, a failed stretch, scattered failures, a missing tail, 3 running."""
    from lockgate.partitions import partitions_for
    from lockgate.partitions.status import upsert_states
    from lockgate.runs.sql import db_time
    from lockgate.time import clock

    keys = partitions_for(defs.assets["events"].partitions).keys()  # type: ignore[attr-defined]
    assert len(keys) == PARTITIONS, len(keys)
    with store.begin() as conn:  # type: ignore[attr-defined]
        stamp = db_time(conn, clock.now())
        rows = []
        for i, key in enumerate(keys[:-5000]):
            failed = 20_000 <= i < 20_500 or i % 997 == 0
            rows.append(("events", key, "failed" if failed else "materialized", i + 1, stamp))
        upsert_states(conn, rows)
        conn.exec_driver_sql(
            "INSERT INTO runs (target, job, origin, partition_key, partition_end_key, "
            "partition_count, status, attempt, priority, queued_at, cancel_requested) "
            f"VALUES ('events', 'events', 'manual', '{keys[-4000]}', '{keys[-3990]}', 11, "
            f"'running', 1, 0, '{stamp}', 0)")


def status_in_process(store: object, defs: object, runs: int) -> float:
    from rich.console import Console

    from lockgate.cli.partitions import health_bar
    from lockgate.partitions.status import collapse, load_status_columns
    from lockgate.time import clock

    times = []
    for _ in range(runs):
        pset = fresh_set(defs)("events")

        def show(pset: object = pset) -> None:
            now = clock.now()
            keys = pset.keys(now)  # type: ignore[attr-defined]
            with store.read() as conn:  # type: ignore[attr-defined]
                columns = load_status_columns(conn, "events", pset, keys, now)  # type: ignore[arg-type]
            collapse(columns)
            with open(os.devnull, "w") as sink:
                Console(file=sink).print(health_bar(columns.statuses, width=80))

        times.append(timed(show))
    return median(times)


def cli_time(argv: list[str], runs: int, *, before: Callable[[], None] | None = None,
             cwd: Path) -> float:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                       check=True, cwd=cwd)
        times.append(time.perf_counter() - start)
    return median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions per figure")
    args = parser.parse_args(argv)
    exe = lockgate_executable()

    seconds, queued = launch_in_process(args.runs)
    report(Figure(name="backfill launch --all, in-process", value=seconds, unit="s",
                  target=LAUNCH_TARGET, note=f"{queued} runs queued"))
    if queued != PARTITIONS:
        print(f"expected {PARTITIONS} queued runs, found {queued}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="lockgate-bench-") as tmp:
        folder = Path(tmp)
        config = project(folder)
        db = folder / "lockgate.db"

        def reset() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            subprocess.run([exe, "--config", str(config), "db", "upgrade"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        report(Figure(name="backfill launch --all, CLI wall", unit="s", target=LAUNCH_TARGET,
                      value=cli_time([exe, "--config", str(config), "backfill", "launch",
                                      "events", "--all"], args.runs, before=reset,
                                     cwd=folder)))

    report(Figure(name="backfill launch --dry-run, in-process", unit="s",
                  target=DRY_RUN_TARGET, value=dry_run_in_process(args.runs)))
    with tempfile.TemporaryDirectory(prefix="lockgate-bench-") as tmp:
        folder = Path(tmp)
        config = project(folder)
        report(Figure(name="backfill launch --dry-run, CLI wall", unit="s",
                      target=DRY_RUN_TARGET,
                      value=cli_time([exe, "--config", str(config), "backfill", "launch",
                                      "events", "--all", "--dry-run"], args.runs,
                                     cwd=folder)))

    with tempfile.TemporaryDirectory(prefix="lockgate-bench-") as tmp:
        folder = Path(tmp)
        defs, store = fresh_store(folder)
        seed_mixed_status(store, defs)
        report(Figure(name="partitions (87,672 mixed), in-process", unit="s",
                      target=STATUS_TARGET, value=status_in_process(store, defs, args.runs)))
        store.close()  # type: ignore[attr-defined]
        report(Figure(name="partitions (87,672 mixed), CLI wall", unit="s",
                      target=STATUS_TARGET,
                      value=cli_time([exe, "--config", str(folder / "lockgate.yaml"),
                                      "partitions", "events"], args.runs, cwd=folder)))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
