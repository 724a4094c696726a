"""kill -9 of a worker in the middle of a backfill, then a restart: nothing lost, nothing doubled.

Each job sleeps a little and, when it succeeds, appends ``KEY RUN_ID`` to a file; at the
end every partition has exactly one line and one succeeded attempt, and the backfill
is completed.

The kill lands while every active child is parked (a HOLD file makes jobs wait before
their side effect), never between a child's exit and the worker recording it: a job
whose success was not recorded when its worker died is run again by design (at least
once per partition), and its side effect would then be doubled by the job, not by
lockgate.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from lockgate.settings import load_definitions
from lockgate.store import Store

LOCKGATE = str(Path(sys.executable).parent / "lockgate")


def wait_for(what: str, check, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("on_daemon_exit", ["adopt", "stop"])
def test_kill_9_of_the_worker_mid_backfill_then_restart_runs_each_partition_once(
        tmp_path: Path, store_url: str, on_daemon_exit: str) -> None:
    out, hold, parked = tmp_path / "done.txt", tmp_path / "HOLD", tmp_path / "parked"
    parked.mkdir()
    job = ["sh", "-c",
           "sleep 0.1; "
           f'while [ -f {hold} ]; do touch {parked}/$LOCKGATE_RUN_ID-$LOCKGATE_ATTEMPT; '
           "sleep 0.02; done; "
           f'echo "$LOCKGATE_PARTITION_KEY $LOCKGATE_RUN_ID" >> {out}']
    config = tmp_path / "lockgate.yaml"
    config.write_text(json.dumps({
        "storage": {"url": store_url},
        "launcher": {"state_dir": "state", "max_concurrent_runs": 6, "kill_grace": "1s",
                     "heartbeat_interval": "200ms", "heartbeat_timeout": "2s",
                     "poll_interval": "50ms", "on_daemon_exit": on_daemon_exit},
        "assets": {"hourly": {
            "command": job, "retries": {"max": 2, "backoff": "10ms", "jitter": False},
            "partitions": {"cadence": "hourly", "start": "2024-03-10T00:00",
                           "timezone": "America/New_York"}}},
    }))
    launched = subprocess.run(
        [LOCKGATE, "--config", str(config), "backfill", "launch", "hourly", "--from",
         "2024-03-10-00:00", "--to", "2024-03-12-12:00", "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert launched.returncode == 0, launched.stderr
    info = json.loads(launched.stdout)
    assert info["partitions"] == 60  # 23 hours on the DST day, 24, then 13
    store = Store.open(load_definitions(config).storage_url)

    def lines() -> list[str]:
        return out.read_text().splitlines() if out.exists() else []

    def active() -> set[str]:
        with store.read() as conn:
            return {f"{i}-{a}" for i, a in conn.exec_driver_sql(
                "SELECT id, attempt FROM runs WHERE status IN ('starting', 'running')")}

    try:
        worker = subprocess.Popen([LOCKGATE, "--config", str(config), "worker"], cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for("a third of the partitions", lambda: len(lines()) >= 20)
            hold.touch()
            # Every active run parked: none is between its side effect and its record.
            wait_for("all active runs parked", lambda: bool(
                (a := active()) and a <= {p.name for p in parked.iterdir()}))
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        done_before = len(lines())
        assert 20 <= done_before < 60
        assert active(), "the kill left runs that recovery must find"
        hold.unlink()

        restarted = subprocess.run([LOCKGATE, "--config", str(config), "worker", "--drain"],
                                   cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert restarted.returncode == 0, restarted.stdout[-3000:] + restarted.stderr[-3000:]
        # adopt: the parked runs outlived the worker; the restarted one records those that
        # finished meanwhile and adopts the others. stop: they died with it, retried.
        assert "run_recovered" in restarted.stdout or "run_adopted" in restarted.stdout

        per_key = Counter(line.split()[0] for line in lines())
        assert len(per_key) == 60 and set(per_key.values()) == {1}, per_key.most_common(3)
        with store.read() as conn:
            runs = conn.exec_driver_sql(
                "SELECT id, partition_key, status, attempt FROM runs "
                f"WHERE backfill_id = {info['backfill_id']}").all()
            succeeded = Counter(r for (r,) in conn.exec_driver_sql(
                "SELECT run_id FROM run_attempts WHERE status = 'succeeded'"))
            lost = sum(1 for (error,) in conn.exec_driver_sql(
                "SELECT error FROM run_attempts WHERE status = 'failed'")
                if error.startswith("lost: worker"))
        assert len(runs) == 60 and {r[2] for r in runs} == {"succeeded"}
        assert all(succeeded[r[0]] == 1 for r in runs)
        assert lost >= 1 if on_daemon_exit == "stop" else lost == 0
        # the line of each partition names its one run
        run_of = {key: str(run_id) for run_id, key, _s, _a in runs}
        assert all(run_of[k] == r for k, r in (line.split() for line in lines()))
        status = subprocess.run([LOCKGATE, "--config", str(config), "backfill", "status",
                                 str(info["backfill_id"]), "--json"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=60)
        got = json.loads(status.stdout)
        assert got["status"] == "completed" and got["counts"]["succeeded"] == 60
    finally:
        store.close()
