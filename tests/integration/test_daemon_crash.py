"""kill -9 of the daemon, then a restart: the catch-up policy decides the missed ticks.

A per-second schedule with ``catchup_window: 8s``. The daemon is killed twice: once
down for about a second (every missed tick inside the window), once for longer than
the window. Every instant from the first tick to the last has exactly one tick row;
each row's status follows from the policy, its instant, the evaluation time and when
the restarted daemon took the decider lease; the runs are exactly the run ticks. With
``launcher.on_daemon_exit: stop``, a run left running by the killed daemon is recovered
(failed as lost) at the restart (``adopt``: tests/integration/test_daemon_restart_runs.py).
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import (
    Daemons,
    key_of,
    parse_time,
    runs,
    ticks,
    wait_for,
    write_config,
)

WINDOW = dt.timedelta(seconds=8)
SECOND = dt.timedelta(seconds=1)


def expected_status(tick: dict[str, Any], policy: str, on_time_from: dt.datetime,
                    newest_missed: dt.datetime | None) -> str:
    """What the policy promises for one tick of the restarted daemon."""
    instant, evaluated = tick["scheduled_for"], tick["started_at"]
    if instant < evaluated - WINDOW:
        return "skipped: window"
    if instant >= on_time_from:
        return "run"
    if policy == "all" or (policy == "latest" and instant == newest_missed):
        return "run"
    return f"skipped: {policy}"


def on_time_ticks(url: str, skip: int, since: dt.datetime) -> bool:
    return len([t for t in ticks(url, "every")[skip:] if t["scheduled_for"] >= since]) >= 2


def actual_status(tick: dict[str, Any]) -> str:
    if tick["status"] == "succeeded":
        return "run"
    assert tick["status"] == "skipped", tick
    reason = tick["skip_reason"]
    if "older than catchup_window" in reason:
        return "skipped: window"
    if "superseded" in reason:
        return "skipped: latest"
    if "catchup: none" in reason:
        return "skipped: none"
    raise AssertionError(f"unexpected skip reason {reason!r}")


@pytest.mark.parametrize("policy", ["none", "latest", "all"])
def test_kill_and_restart_within_and_beyond_the_window_follow_the_policy(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, policy: str) -> None:
    config = write_config(tmp_path, url=sqlite_url, jobs={"noop": {"command": ["true"]}},
                          schedules={"every": {"cron": "* * * * * *", "target": "noop",
                                               "catchup": policy,
                                               "catchup_window": "8s"}})
    origin = "schedule:every"

    def ticked(n: int) -> Any:
        return lambda: len(ticks(sqlite_url, "every")) >= n

    first = daemons.start(config)
    wait_for(ticked(2), what="two ticks")
    restarts: list[dt.datetime] = []
    for down in (0.5, WINDOW.total_seconds() + 4):
        daemons.started[-1].kill()
        done = len(ticks(sqlite_url, "every"))
        time.sleep(down)
        d = daemons.start(config)
        acquired = d.wait_event("lease_acquired")
        restarts.append(parse_time(acquired["since"]))
        # Past the catch-up sweep, and two on-time ticks after it.
        wait_for(partial(on_time_ticks, sqlite_url, done, restarts[-1]),
                 what="on-time ticks after the restart")
    d.send(signal.SIGTERM)
    assert d.wait() == 0
    assert first.find("lease_acquired")

    rows = ticks(sqlite_url, "every")
    instants = [t["scheduled_for"] for t in rows]
    assert None not in instants  # nothing was summarized: every instant is its own row
    assert len(instants) == len(set(instants)), "an instant was decided twice"
    # None lost: every second from the first tick to the last was decided.
    span = int((max(instants) - min(instants)) / SECOND) + 1
    assert sorted(instants) == [min(instants) + i * SECOND for i in range(span)]

    seen_cases: set[str] = set()
    for restart in restarts:
        before = [t for t in rows if t["scheduled_for"] < restart
                  and t["started_at"] < restart]
        last_before = max(t["scheduled_for"] for t in before)
        missed = [t for t in rows if last_before < t["scheduled_for"] < restart]
        assert missed, "the daemon was down for at least a tick"
        newest = max(t["scheduled_for"] for t in missed
                     if t["scheduled_for"] >= t["started_at"] - WINDOW) if any(
            t["scheduled_for"] >= t["started_at"] - WINDOW for t in missed) else None
        for tick in missed:
            want = expected_status(tick, policy, restart, newest)
            assert actual_status(tick) == want, (tick, restart)
            seen_cases.add(want)
    # The first restart missed ticks inside the window, the second also beyond it.
    assert "skipped: window" in seen_cases
    assert seen_cases - {"skipped: window"}

    # The runs are exactly the ticks that ran, one per instant, keyed NAME:INSTANT.
    ran = {t["scheduled_for"] for t in rows if t["status"] == "succeeded"}
    keys = [r["run_key"] for r in runs(sqlite_url, origin)]
    assert sorted(keys) == sorted(key_of("every", i) for i in ran)
    for tick in rows:
        assert len(tick["run_ids"]) == (1 if tick["status"] == "succeeded" else 0)


def test_a_run_left_running_by_a_killed_daemon_is_recovered_at_restart(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    config = write_config(tmp_path, url=sqlite_url, launcher={"on_daemon_exit": "stop"}, jobs={
        "slow": {"command": ["sleep", "300"]},
    }, schedules={
        # Fires once, now-ish; catchup none so the restart queues nothing new.
        "once": {"cron": "* * * * * *", "target": "slow", "overlap": "skip",
                 "catchup": "none"},
    })
    d = daemons.start(config)
    run = wait_for(lambda: next((r for r in runs(sqlite_url, "schedule:once")
                                 if r["status"] == "running"), None), what="a running run")
    d.kill()
    assert runs(sqlite_url, "schedule:once")[0]["status"] == "running"

    again = daemons.start(config)
    recovered = again.wait_event("run_recovered")
    assert recovered["run_id"] == run["id"]
    names = [e["event"] for e in again.events]
    assert names.index("run_recovered") < names.index("daemon_ready")  # before READY
    lost = next(r for r in runs(sqlite_url) if r["id"] == run["id"])
    assert lost["status"] == "failed"
    assert lost["error"].startswith("lost: worker") and run["worker_id"] in lost["error"]
