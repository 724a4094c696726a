"""Runs in flight across a daemon restart (``launcher.on_daemon_exit``).

With ``adopt`` (the default) kill -9 of the daemon leaves its runs going under their
supervisors: at the restart, those that finished meanwhile are recorded with their
true outcome and exit code, those still going are adopted (they finish and are
recorded, heartbeats resume, a timeout and a cancel still work), and none runs twice
(each job appends its run id to a ledger file). With ``stop`` the runs die with the
daemon and are retried by their policy. A SIGTERM shutdown that stops runs after its
grace leaves them to be retried, not recorded as killed by SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
from pathlib import Path
from typing import Any

from daemon_helpers import Daemons, lines, lockgate, parse_time, runs, wait_for, write_config


def ledger_job(ledger: Path, body: str, **extra: Any) -> dict[str, Any]:
    """A job that appends its run id to ``ledger``, then runs ``body``."""
    return {"command": ["sh", "-c", f'echo "$LOCKGATE_RUN_ID" >> {ledger}; {body}'], **extra}


def gated(go: Path, then: str = "true") -> str:
    return f"while [ ! -e {go} ]; do sleep 0.05; done; {then}"


def queue(config: Path, *targets: str) -> list[int]:
    """Queue one run of each target (in-process, as the CLI's trigger does)."""
    from lockgate.definitions import RunRequest
    from lockgate.runs import request_runs
    from lockgate.settings import load_definitions
    from lockgate.store import Store
    from lockgate.time import clock

    defs = load_definitions(config)
    store = Store.open(defs.storage_url)
    try:
        with store.begin() as conn:
            done = request_runs(conn, [RunRequest(target=t) for t in targets],
                                origin="manual", defs=defs, now=clock.now())
    finally:
        store.close()
    return [int(outcome.run_id) for outcome in done]


def by_id(url: str) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in runs(url)}


def all_running(url: str, ids: list[int], ledger: Path) -> bool:
    rows = by_id(url)
    return all(rows[i]["status"] == "running" for i in ids) and \
        sorted(map(int, lines(ledger))) == sorted(ids)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def as_utc(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else parse_time(value)


def test_kill_9_then_restart_records_finished_runs_and_adopts_running_ones(
        tmp_path: Path, store_url: str, daemons: Daemons) -> None:
    ledger, go = tmp_path / "ledger", tmp_path / "go"
    done = tmp_path / "done"  # the quick jobs wait for it: they end while the daemon is down
    config = write_config(tmp_path, url=store_url, jobs={
        "ok": ledger_job(ledger, gated(done)),
        "bad": ledger_job(ledger, gated(done, "exit 3")),
        "long": ledger_job(ledger, gated(go)),
        "slow": ledger_job(ledger, "sleep 60", timeout="4s"),
        "stuck": ledger_job(ledger, "sleep 60"),
    })
    first = daemons.start(config)
    ok, bad, long, slow, stuck = ids = queue(config, "ok", "bad", "long", "slow", "stuck")
    wait_for(lambda: all_running(store_url, ids, ledger), what="every run running")
    before = by_id(store_url)
    first.kill()

    done.touch()
    state = tmp_path / "state" / "logs"
    wait_for(lambda: all((state / str(i) / "attempt-1.exit").exists() for i in (ok, bad)),
             what="the quick runs to end while no daemon runs")
    second = daemons.start(config)
    adopted = {e["run_id"] for e in second.find("run_adopted")}
    assert adopted == {long, slow, stuck}
    rows = by_id(store_url)
    assert (rows[ok]["status"], rows[ok]["exit_code"], rows[ok]["error"]) == \
        ("succeeded", 0, None)
    assert (rows[bad]["status"], rows[bad]["exit_code"]) == ("failed", 3)
    assert rows[bad]["error"].startswith("exited with code 3")
    ended_at = os.stat(state / str(ok) / "attempt-1.exit").st_mtime
    assert abs(as_utc(rows[ok]["finished_at"]).timestamp() - ended_at) < 0.01

    # Adopted: heartbeats resume under the new worker; a cancel and a timeout still work.
    for run_id in (long, stuck):  # (slow may have timed out already)
        assert rows[run_id]["status"] == "running"
        assert rows[run_id]["worker_id"] != before[run_id]["worker_id"]
    wait_for(lambda: as_utc(by_id(store_url)[long]["heartbeat_at"])
             > as_utc(rows[long]["heartbeat_at"]), what="a heartbeat of the adopted run")
    cancel = lockgate("--config", str(config), "runs", "cancel", str(stuck), cwd=tmp_path)
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    go.touch()
    finished = wait_for(lambda: (r := by_id(store_url)) and all(
        r[i]["status"] not in ("running", "starting", "queued") for i in ids) and r,
        what="every run finished")
    assert finished[long]["status"] == "succeeded" and finished[long]["exit_code"] == 0
    assert finished[stuck]["status"] == "canceled"
    assert finished[slow]["status"] == "failed"
    assert finished[slow]["error"].startswith("timed out after 4s")
    assert sorted(map(int, lines(ledger))) == sorted(ids), "a run executed twice"
    assert not any((r["error"] or "").startswith("lost") for r in finished.values())
    assert not second.find("run_recovered", lambda e: e["outcome"] == "lost")
    second.send(signal.SIGTERM)
    assert second.wait() == 0


def test_with_stop_the_runs_die_with_the_daemon_and_are_retried(
        tmp_path: Path, store_url: str, daemons: Daemons) -> None:
    ledger, go = tmp_path / "ledger", tmp_path / "go"
    config = write_config(tmp_path, url=store_url, launcher={"on_daemon_exit": "stop"}, jobs={
        "long": ledger_job(ledger, gated(go), retries={"max": 1, "backoff": "100ms"}),
    })
    first = daemons.start(config)
    (run_id,) = queue(config, "long")
    wait_for(lambda: all_running(store_url, [run_id], ledger), what="the run running")
    pid = by_id(store_url)[run_id]["pid"]
    first.kill()
    wait_for(lambda: not alive(pid), what="the run's process to die with the daemon")

    second = daemons.start(config)
    assert second.find("run_recovered", lambda e: e["outcome"] == "lost")
    assert not second.find("run_adopted")
    wait_for(lambda: lines(ledger) == [str(run_id)] * 2, what="the retry to start")
    go.touch()
    row = wait_for(lambda: (r := by_id(store_url)[run_id])["status"] == "succeeded" and r,
                   what="the retry to succeed")
    assert row["attempt"] == 2
    from daemon_helpers import query
    first_attempt = query(store_url, "SELECT status, error FROM run_attempts "
                          "WHERE run_id = ? AND attempt = 1", (run_id,))
    assert first_attempt[0][0] == "failed" and first_attempt[0][1].startswith("lost: worker")


def test_runs_stopped_at_shutdown_are_retried_not_failed_by_their_sigterm(
        tmp_path: Path, store_url: str, daemons: Daemons) -> None:
    ledger, go = tmp_path / "ledger", tmp_path / "go"
    config = write_config(tmp_path, url=store_url, daemon={"shutdown_grace": "1s"}, jobs={
        "long": ledger_job(ledger, gated(go), retries={"max": 1, "backoff": "100ms"}),
        "quick": ledger_job(ledger, "sleep 0.3"),
    })
    first = daemons.start(config)
    long, quick = ids = queue(config, "long", "quick")
    wait_for(lambda: all_running(store_url, ids, ledger), what="both runs running")
    first.send(signal.SIGTERM)
    assert first.wait() == 0
    rows = by_id(store_url)
    assert rows[quick]["status"] == "succeeded"  # it finished within the grace
    assert rows[long]["status"] == "running"  # stopped after the grace, left for recovery

    second = daemons.start(config)
    assert not second.find("run_adopted")
    wait_for(lambda: len(lines(ledger)) == 3, what="the retry of the stopped run")
    go.touch()
    row = wait_for(lambda: (r := by_id(store_url)[long])["status"] == "succeeded" and r,
                   what="the retry to succeed")
    assert row["attempt"] == 2
    assert sorted(map(int, lines(ledger))) == sorted([long, long, quick])
