"""Recovery of runs left ``starting`` by a dead worker (claim committed, pid not recorded).

The supervisor's pid file finds them: a live one is adopted (by one worker only: the
hand-over is a conditional update), a finished one is recorded with its exit code, and
a run claimed but never started is lost and retried as before.
"""

from __future__ import annotations

import datetime as dt
import signal
import socket
import subprocess
from pathlib import Path

from daemon_helpers import write_config

from lockgate.daemon.contexts import context_for
from lockgate.daemon.launcher import LocalLauncher
from lockgate.daemon.recovery import recover_lost_runs
from lockgate.definitions import RunRequest
from lockgate.runs import queue, request_runs
from lockgate.runs.records import get_run
from lockgate.settings import load_definitions
from lockgate.statuses import RunStatus
from lockgate.store import Store
from lockgate.time import clock


def dead_worker_id() -> str:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return f"{socket.gethostname()}:{gone.pid}:0-deadbeef"


def test_runs_left_starting_are_adopted_recorded_or_lost_by_their_pid_file(
        tmp_path: Path, store: Store) -> None:
    config = write_config(tmp_path, url=store.url, jobs={
        "slow": {"command": ["sleep", "30"]},
        "quick": {"command": ["sh", "-c", "exit 5"]},
        "never": {"command": ["true"], "retries": {"max": 1, "backoff": "1s"}},
    })
    defs = load_definitions(config)
    with store.begin() as conn:
        request_runs(conn, [RunRequest(target=t) for t in ("slow", "quick", "never")],
                     origin="manual", defs=defs, now=clock.now())
        claimed = queue.claim(conn, worker_id=dead_worker_id(), now=clock.now(),
                              limits=queue.Limits(max_concurrent_runs=8), max_runs=3)
    slow, quick, never = claimed
    launcher = LocalLauncher(state_dir=defs.launcher.state_dir)
    children = {run.target: launcher.spawn(defs.target_job(run.target),
                                           context_for(run, defs), timeout_at=None,
                                           now_monotonic=0.0) for run in (slow, quick)}
    try:
        assert children["quick"].popen.wait(10) == 5
        # The first worker takes over what it can; a second one finds nothing left.
        recovered = {}
        for worker in ("host:1:1-a", "host:2:1-b"):
            for item in recover_lost_runs(store, defs, own_worker_id=worker,
                                          heartbeat_timeout=dt.timedelta(minutes=5),
                                          log_path=launcher.log_path, adopt=True):
                recovered.setdefault(item.run_id, []).append((worker, item))
        assert [(w, i.outcome) for w, i in recovered[slow.id]] == [("host:1:1-a", "adopted")]
        assert recovered[slow.id][0][1].pid == children["slow"].pid
        assert [i.outcome for _, i in recovered[quick.id]] == [RunStatus.FAILED]
        assert recovered[quick.id][0][1].exit_code == 5
        assert [i.outcome for _, i in recovered[never.id]] == ["lost"]
        with store.read() as conn:
            adopted, ended, lost = (get_run(conn, r.id) for r in (slow, quick, never))
        assert (adopted.status, adopted.worker_id, adopted.pid) == (
            RunStatus.RUNNING, "host:1:1-a", children["slow"].pid)
        assert adopted.log_path == str(launcher.log_path(slow.id, 1))
        assert (ended.status, ended.exit_code) == (RunStatus.FAILED, 5)
        assert (lost.status, lost.attempt) == (RunStatus.QUEUED, 2)  # retried by policy
        with store.begin() as conn:  # a worker that read the run before the hand-over
            assert not queue.adopt(conn, slow, worker_id="host:2:1-b", now=clock.now(),
                                   pid=children["slow"].pid, log_path="x")
    finally:
        LocalLauncher.signal_group(children["slow"], signal.SIGKILL)
        children["slow"].popen.wait(10)


def test_a_log_that_grew_past_the_cap_while_no_worker_watched_is_capped_at_recovery(
        tmp_path: Path, store: Store) -> None:
    import json

    from lockgate.daemon.worker import Worker

    config = write_config(tmp_path, url=store.url, jobs={
        "chatty": {"command": ["sh", "-c", "yes 'a line of output' | head -c 300000"]}})
    config.write_text(json.dumps({**json.loads(config.read_text()),
                                  "retention": {"max_log_bytes": "64KiB"}}))
    defs = load_definitions(config)
    with store.begin() as conn:
        request_runs(conn, [RunRequest(target="chatty")], origin="manual", defs=defs,
                     now=clock.now())
        [run] = queue.claim(conn, worker_id=dead_worker_id(), now=clock.now(),
                            limits=queue.Limits(max_concurrent_runs=8), max_runs=1)
    launcher = LocalLauncher(state_dir=defs.launcher.state_dir)
    child = launcher.spawn(defs.target_job("chatty"), context_for(run, defs),
                           timeout_at=None, now_monotonic=0.0)
    assert child.popen.wait(10) == 0
    assert Path(child.log_path).stat().st_size > 300_000  # its worker died: nobody capped it
    Worker(store, defs, launcher=launcher).recover()
    with store.read() as conn:
        assert get_run(conn, run.id).status == RunStatus.SUCCEEDED
    text = Path(child.log_path).read_text()
    assert len(text) <= 64 * 1024 + 200 and "bytes cut" in text
