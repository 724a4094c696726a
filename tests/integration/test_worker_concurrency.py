"""Two ``lockgate worker`` processes on one store: every run once, limits never exceeded.

The proof is the children's own side effects: each run appends its id (and its start
and end times) to a file, and a sampler thread counts active rows while they run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from lockgate.definitions import Definitions, RunRequest
from lockgate.runs import list_runs, request_runs
from lockgate.settings import load_definitions
from lockgate.store import Store
from lockgate.time import clock

LOCKGATE = str(Path(sys.executable).parent / "lockgate")


def write_config(tmp_path: Path, url: str, jobs: dict[str, Any], *,
                 pools: dict[str, int] | None = None, **launcher: Any) -> Path:
    config = {
        "storage": {"url": url},
        "launcher": {"state_dir": "state", "max_concurrent_runs": 8, "kill_grace": "1s",
                     "heartbeat_interval": "200ms", "poll_interval": "50ms", **launcher},
        "pools": pools or {},
        "jobs": jobs,
    }
    path = tmp_path / "lockgate.yaml"
    path.write_text(json.dumps(config, indent=1))
    return path


def queue(store: Store, defs: Definitions, target: str, n: int) -> list[int]:
    with store.begin() as conn:
        outs = request_runs(conn, [RunRequest(target=target)] * n, origin="manual",
                            defs=defs, now=clock.now())
    return [o.run_id for o in outs]


def start_worker(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([LOCKGATE, "--config", str(config), "worker", *args],
                            cwd=config.parent, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for(check: Any, timeout: float = 60, what: str = "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


def active_by_worker(store: Store) -> Counter[str]:
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT worker_id, COUNT(*) FROM runs WHERE status IN ('starting', 'running') "
            "GROUP BY worker_id").all()
    return Counter({w: n for w, n in rows})


def test_two_workers_start_every_run_exactly_once(tmp_path: Path, store_url: str) -> None:
    """200 runs, two draining workers: the ids the children wrote appear once each."""
    ids_file = tmp_path / "ids"
    go = tmp_path / "go"
    config = write_config(tmp_path, store_url, {
        # Every run waits for `go`, so both workers are busy before any run ends.
        "append": {"command": ["sh", "-c", f"while [ ! -e {go} ]; do sleep 0.02; done; "
                                           f"echo $LOCKGATE_RUN_ID >> {ids_file}"]},
    }, max_concurrent_runs=16)
    defs = load_definitions(config)
    store = Store.open(store_url)
    store.upgrade()
    try:
        ids = queue(store, defs, "append", 200)
        workers = [start_worker(config, "--drain", "--max-concurrent", "8") for _ in range(2)]
        wait_for(lambda: len(active_by_worker(store)) == 2, what="both workers running runs")
        go.touch()
        outputs = [w.communicate(timeout=240)[0] for w in workers]
        assert [w.returncode for w in workers] == [0, 0], outputs
        written = Counter(int(line) for line in ids_file.read_text().split())
        assert set(written) == set(ids)
        assert set(written.values()) == {1}
        with store.read() as conn:
            runs = list_runs(conn, limit=None)
        assert {(r.status, r.attempt) for r in runs} == {("succeeded", 1)}
        by_worker = Counter(r.worker_id for r in runs)
        assert len(by_worker) == 2 and sum(by_worker.values()) == 200
    finally:
        store.close()


def test_limits_hold_across_two_workers(tmp_path: Path, store_url: str) -> None:
    """Global, per-job and pool limits, checked from the children's start/end records
    and from a sampler of the store's active rows."""
    events = tmp_path / "events"
    go = tmp_path / "go"
    record = (f'echo "start $LOCKGATE_RUN_ID $(date +%s%N) $LOCKGATE_TARGET" >> {events}; '
              f"while [ ! -e {go} ]; do sleep 0.02; done; sleep 0.1; "
              f'echo "end $LOCKGATE_RUN_ID $(date +%s%N) $LOCKGATE_TARGET" >> {events}')
    job = {"command": ["sh", "-c", record]}
    config = write_config(
        tmp_path, store_url,
        {"capped": {**job, "max_concurrent": 2},
         "wh_load": {**job, "concurrency_key": "warehouse"},
         "wh_export": {**job, "concurrency_key": "warehouse"},
         "free": job},
        pools={"warehouse": 2}, max_concurrent_runs=5)
    defs = load_definitions(config)
    store = Store.open(store_url)
    store.upgrade()
    samples: list[dict[str, int]] = []
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            with store.read() as conn:
                rows = conn.exec_driver_sql(
                    "SELECT job, COUNT(*) FROM runs WHERE status IN ('starting', 'running') "
                    "GROUP BY job").all()
            samples.append({job: n for job, n in rows})
            time.sleep(0.005)

    try:
        for target, n in (("capped", 12), ("wh_load", 8), ("wh_export", 8), ("free", 12)):
            queue(store, defs, target, n)
        thread = threading.Thread(target=sampler)
        thread.start()
        # Each worker may run 3 at once, so neither alone can reach the global 5: both
        # claim, and only the store-wide limits keep their sum in bounds.
        workers = [start_worker(config, "--drain", "--max-concurrent", "3") for _ in range(2)]
        wait_for(lambda: len(active_by_worker(store)) == 2, what="both workers running runs")
        go.touch()
        outputs = [w.communicate(timeout=240)[0] for w in workers]
        stop.set()
        thread.join()
        assert [w.returncode for w in workers] == [0, 0], outputs

        # From the children: sweep start/end events in time order.
        timeline = []
        for line in events.read_text().splitlines():
            kind, _run, ns, target = line.split()
            timeline.append((int(ns), 0 if kind == "end" else 1, target))
        timeline.sort()
        running: Counter[str] = Counter()
        peak: Counter[str] = Counter()
        for _ns, is_start, target in timeline:
            running[target] += 1 if is_start else -1
            pool = "warehouse" if target.startswith("wh_") else None
            current = {
                "total": sum(running.values()), "capped": running["capped"],
                "warehouse": running["wh_load"] + running["wh_export"],
            }
            for key, value in current.items():
                peak[key] = max(peak[key], value)
            assert pool is None or current["warehouse"] <= 2
        assert len(timeline) == 2 * 40
        assert peak["total"] <= 5 and peak["capped"] <= 2 and peak["warehouse"] <= 2
        # The limits were reached, so the test did test them.
        assert peak["total"] >= 4 and peak["capped"] == 2 and peak["warehouse"] == 2

        # From the store: no sample exceeds a limit either.
        assert samples
        for sample in samples:
            assert sum(sample.values()) <= 5, sample
            assert sample.get("capped", 0) <= 2, sample
            assert sample.get("wh_load", 0) + sample.get("wh_export", 0) <= 2, sample
        with store.read() as conn:
            runs = list_runs(conn, limit=None)
        assert {r.status for r in runs} == {"succeeded"}
        assert len({r.worker_id for r in runs}) == 2
    finally:
        stop.set()
        store.close()
