"""A worker killed, stopped or asked to cancel, on SQLite and PostgreSQL.

- kill -9 of ``lockgate worker``: its children die with it (PR_SET_PDEATHSIG), the
  grandchildren are killed by recovery, and the next worker fails the lost attempts
  with a "lost" error and retries them by policy.
- SIGTERM: claiming stops; a short run finishes within --grace; a long one is
  terminated and left ``running`` for recovery.
- Cancel: a queued run never starts; a running run's whole process group is killed.
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
from typing import Any

import pytest
from sqlalchemy import select

from lockgate.definitions import Definitions, RunRequest
from lockgate.runs import Run, get_run, request_runs
from lockgate.runs.queue import request_cancel
from lockgate.settings import load_definitions
from lockgate.store import Store
from lockgate.store.tables import run_attempts
from lockgate.time import clock

LOCKGATE = str(Path(sys.executable).parent / "lockgate")


def write_config(tmp_path: Path, url: str, jobs: dict[str, Any], **launcher: Any) -> Path:
    config = {
        "storage": {"url": url},
        "launcher": {"state_dir": "state", "max_concurrent_runs": 8, "kill_grace": "1s",
                     "heartbeat_interval": "200ms", "heartbeat_timeout": "5m",
                     "poll_interval": "50ms", **launcher},
        "jobs": jobs,
    }
    path = tmp_path / "lockgate.yaml"
    path.write_text(json.dumps(config, indent=1))
    return path


@pytest.fixture
def open_store(store_url: str) -> Any:
    opened: list[Store] = []

    def make() -> Store:
        store = Store.open(store_url)
        store.upgrade()
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def queue(store: Store, defs: Definitions, target: str, n: int = 1) -> list[int]:
    with store.begin() as conn:
        outs = request_runs(conn, [RunRequest(target=target)] * n, origin="manual",
                            defs=defs, now=clock.now())
    return [o.run_id for o in outs]


def start_worker(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([LOCKGATE, "--config", str(config), "worker", *args],
                            cwd=config.parent, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def run_of(store: Store, run_id: int) -> Run:
    with store.read() as conn:
        return get_run(conn, run_id)


def wait_for(check: Any, timeout: float = 60, what: str = "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


def gone(pid: int) -> bool:
    """The process has exited (a zombie nobody reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def pid_lines(path: Path) -> dict[int, int]:
    """``RUN_ID PID`` lines written by the jobs: run id -> pid."""
    if not path.exists():
        return {}
    return {int(a): int(b) for a, b in (line.split() for line in path.read_text().splitlines())}


def test_killed_worker_runs_are_recovered_and_retried(tmp_path: Path, store_url: str,
                                                      open_store: Any) -> None:
    shells, grandkids, done = tmp_path / "shells", tmp_path / "grandkids", tmp_path / "done"
    script = (f'echo "$LOCKGATE_RUN_ID $$$$" >> {shells}; '  # $$ is $ in the config
              'if [ "$LOCKGATE_ATTEMPT" = 1 ]; then '
              f'sleep 1000 & echo "$LOCKGATE_RUN_ID $!" >> {grandkids}; wait; fi; '
              f"echo $LOCKGATE_RUN_ID >> {done}")
    config = write_config(tmp_path, store_url, {
        "sleepy": {"command": ["sh", "-c", script], "retries": {"max": 1, "backoff": "10ms"}},
        "fragile": {"command": ["sh", "-c", script]},  # no retries
    }, on_daemon_exit="stop")  # with adopt they would outlive it: test_daemon_restart_runs
    defs = load_definitions(config)
    store = open_store()
    retried = queue(store, defs, "sleepy", 3)
    [lost_for_good] = queue(store, defs, "fragile")
    everyone = [*retried, lost_for_good]

    worker = start_worker(config)
    wait_for(lambda: len(pid_lines(grandkids)) == 4
             and {run_of(store, i).status for i in everyone} == {"running"},
             what="every run running with its grandchild")
    shell_pids, grandkid_pids = pid_lines(shells), pid_lines(grandkids)
    worker.kill()  # SIGKILL: no cleanup code runs
    worker.wait(timeout=30)
    wait_for(lambda: all(gone(pid) for pid in shell_pids.values()),
             what="the children to die with their worker")
    assert {run_of(store, i).status for i in everyone} == {"running"}  # nobody knows yet

    result = subprocess.run([LOCKGATE, "--config", str(config), "worker", "--drain"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    # Every run this worker executed succeeded; the lost run it failed by recovery
    # was not executed by it, so it does not change the exit code.
    assert result.returncode == 0, result.stdout
    assert '"event": "run_recovered"' in result.stdout
    assert all(gone(pid) for pid in grandkid_pids.values())

    for run_id in retried:
        run = run_of(store, run_id)
        assert (run.status, run.attempt) == ("succeeded", 2), run.error
        with store.read() as conn:
            attempts = conn.execute(select(run_attempts).where(run_attempts.c.run_id == run_id)
                                    .order_by(run_attempts.c.attempt)).all()
        assert [(a.attempt, a.status) for a in attempts] == [(1, "failed"), (2, "succeeded")]
        assert attempts[0].error.startswith("lost: worker ")
    fragile = run_of(store, lost_for_good)
    assert (fragile.status, fragile.attempt) == ("failed", 1)
    assert fragile.error is not None and fragile.error.startswith("lost: worker ")
    assert "while the run was running" in fragile.error
    # Exactly one successful attempt per retried run, and none of the killed ones ended.
    assert Counter(int(x) for x in done.read_text().split()) == Counter(retried)


def test_sigterm_stops_claiming_and_lets_a_short_run_finish(tmp_path: Path, store_url: str,
                                                            open_store: Any) -> None:
    started = tmp_path / "started"
    config = write_config(tmp_path, store_url, {
        "short": {"command": ["sh", "-c", f"touch {started}-$LOCKGATE_RUN_ID; sleep 1"]},
    })
    defs = load_definitions(config)
    store = open_store()
    first, second = queue(store, defs, "short", 2)
    worker = start_worker(config, "--max-concurrent", "1", "--grace", "30s")
    wait_for(lambda: run_of(store, first).status == "running", what="the first run")
    worker.send_signal(signal.SIGTERM)
    out, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, out
    assert run_of(store, first).status == "succeeded"
    assert run_of(store, second).status == "queued"
    assert not Path(f"{started}-{second}").exists()
    assert '"event": "worker_stop_requested"' in out and '"event": "worker_draining"' in out


def test_sigterm_past_grace_terminates_the_run_and_leaves_it_for_recovery(
        tmp_path: Path, store_url: str, open_store: Any) -> None:
    grandkids = tmp_path / "grandkids"
    config = write_config(tmp_path, store_url, {
        "long": {"command": ["sh", "-c",
                             f'sleep 1000 & echo "$LOCKGATE_RUN_ID $!" >> {grandkids}; wait']},
    })
    defs = load_definitions(config)
    store = open_store()
    [run_id] = queue(store, defs, "long")
    worker = start_worker(config, "--grace", "300ms")
    wait_for(lambda: pid_lines(grandkids) and run_of(store, run_id).status == "running",
             what="the run to be running")
    child_pid = run_of(store, run_id).pid
    assert child_pid is not None
    worker.send_signal(signal.SIGTERM)
    out, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, out
    assert '"event": "run_left_for_recovery"' in out
    assert gone(child_pid) and gone(pid_lines(grandkids)[run_id])
    assert run_of(store, run_id).status == "running"

    result = subprocess.run([LOCKGATE, "--config", str(config), "worker", "--drain"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout
    assert '"event": "run_recovered"' in result.stdout
    run = run_of(store, run_id)
    assert run.status == "failed" and run.error is not None and run.error.startswith("lost")


def test_cancel_kills_the_process_group_of_a_running_run(tmp_path: Path, store_url: str,
                                                        open_store: Any) -> None:
    grandkids, ran = tmp_path / "grandkids", tmp_path / "ran"
    config = write_config(tmp_path, store_url, {
        "forker": {"command": ["sh", "-c",
                               f'sleep 1000 & echo "$LOCKGATE_RUN_ID $!" >> {grandkids}; wait'],
                   "retries": {"max": 3}},
        "quick": {"command": ["sh", "-c", f"echo $LOCKGATE_RUN_ID >> {ran}"]},
    })
    defs = load_definitions(config)
    store = open_store()
    [queued] = queue(store, defs, "quick")
    with store.begin() as conn:
        assert request_cancel(conn, queued, now=clock.now()) == "canceled"
    [running] = queue(store, defs, "forker")
    worker = start_worker(config)
    try:
        wait_for(lambda: pid_lines(grandkids) and run_of(store, running).status == "running",
                 what="the run to be running")
        child_pid = run_of(store, running).pid
        grandkid = pid_lines(grandkids)[running]
        with store.begin() as conn:
            assert request_cancel(conn, running, now=clock.now()) == "cancel_requested"
        wait_for(lambda: run_of(store, running).status == "canceled", what="the cancel")
        run = run_of(store, running)
        assert (run.attempt, run.error) == (1, "canceled by operator")  # not retried
        assert child_pid is not None and gone(child_pid)
        wait_for(lambda: gone(grandkid), timeout=10, what="the grandchild to be killed")
        # The worker goes on with other runs.
        [later] = queue(store, defs, "quick")
        wait_for(lambda: run_of(store, later).status == "succeeded", what="a later run")
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, out
    assert run_of(store, queued).status == "canceled"
    assert ran.read_text().split() == [str(later)]  # the canceled queued run never ran
    assert os.path.exists(run.log_path or "")



def test_a_worker_draining_at_shutdown_sleeps_instead_of_spinning(
        tmp_path: Path, store_url: str, open_store: Any) -> None:
    """A stop request sets the worker's wake event; the drain after it must still sleep
    between looks at its children, not return from every wait at once."""
    from lockgate.daemon.worker import Worker

    config = write_config(tmp_path, store_url, {"slow": {"command": ["sleep", "1.5"]}})
    defs = load_definitions(config)
    store = open_store()
    [run_id] = queue(store, defs, "slow")
    worker = Worker(store, defs)
    assert worker._claim_and_launch() == 1
    worker.request_stop()  # the wake event is set and nothing clears it
    before = time.process_time()
    worker._shutdown(30.0)
    used = time.process_time() - before
    assert run_of(store, run_id).status == "succeeded"
    # Checking the child every 20 ms costs milliseconds of CPU; a loop that never
    # sleeps burns whatever CPU it is given for the 1.5 s the child runs.
    assert used < 0.3, f"the draining worker used {used:.2f} s of CPU"
