"""SIGTERM and SIGINT drain the daemon; SIGHUP reloads its config.

- A run that ends within ``daemon.shutdown_grace`` finishes and is recorded; exit 0.
- A run longer than the grace is terminated and left ``running``; the next start
  recovers it.
- SIGHUP: a valid new config takes effect without touching a running run; an invalid
  one is logged as ``config_reload_failed`` and the old one keeps ticking; runs queued
  for a target the reload removed fail with a reason that names it.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import (
    DaemonProcess,
    Daemons,
    lines,
    lockgate,
    runs,
    wait_for,
    write_config,
)

STOP_SIGNALS = [signal.SIGTERM, signal.SIGINT]


def trigger(config: Path, target: str) -> int:
    result = lockgate("--config", str(config), "trigger", target, "--json",
                      cwd=config.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    return int(json.loads(result.stdout)["run_id"])


def run(url: str, run_id: int) -> dict[str, Any]:
    return next(r for r in runs(url) if r["id"] == run_id)


def gated(go: Path, then: str = "true") -> list[str]:
    """A job that waits until the test creates ``go``, then runs ``then``."""
    return ["sh", "-c", f"while [ ! -e {go} ]; do sleep 0.05; done; {then}"]


def started(d: DaemonProcess, run_id: int) -> None:
    """Wait until the daemon logged the run's start (its row is then `running`)."""
    d.wait_event("run_started", lambda e: e["run_id"] == run_id)


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda s: s.name)
def test_stop_signal_lets_a_short_run_finish_and_exits_0(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, sig: signal.Signals) -> None:
    done, go = tmp_path / "done", tmp_path / "go"
    # The job runs until the test lets it go, after the daemon began stopping.
    config = write_config(tmp_path, url=sqlite_url, daemon={"shutdown_grace": "60s"}, jobs={
        "short": {"command": gated(go, f"sleep 1; echo finished >> {done}")},
    })
    d = daemons.start(config)
    run_id = trigger(config, "short")
    started(d, run_id)

    d.send(sig)
    d.wait_event("daemon_stopping")
    go.touch()
    assert d.wait() == 0
    assert lines(done) == ["finished"]
    finished = run(sqlite_url, run_id)
    assert finished["status"] == "succeeded" and finished["exit_code"] == 0
    names = [e["event"] for e in d.events]
    assert d.find("daemon_stop_requested")[0]["signal"] == sig.name
    assert names.index("daemon_stopping") < names.index("run_succeeded") \
        < names.index("daemon_stopped")


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda s: s.name)
def test_stop_signal_terminates_a_run_longer_than_the_grace_and_leaves_it_for_recovery(
        tmp_path: Path, sqlite_url: str, daemons: Daemons, sig: signal.Signals) -> None:
    config = write_config(tmp_path, url=sqlite_url, daemon={"shutdown_grace": "1s"}, jobs={
        "long": {"command": ["sleep", "300"]},
    })
    d = daemons.start(config)
    run_id = trigger(config, "long")
    started(d, run_id)
    pid = run(sqlite_url, run_id)["pid"]

    d.send(sig)
    assert d.wait() == 0
    assert d.find("run_left_for_recovery")[0]["run_id"] == run_id
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    assert run(sqlite_url, run_id)["status"] == "running"  # left for recovery

    again = daemons.start(config)
    assert again.wait_event("run_recovered")["run_id"] == run_id
    recovered = run(sqlite_url, run_id)
    assert recovered["status"] == "failed" and recovered["error"].startswith("lost:")


def test_sighup_with_a_valid_config_adds_a_schedule_and_keeps_the_running_run(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    done, ticks, go = tmp_path / "done", tmp_path / "ticks", tmp_path / "go"
    jobs = {
        "slow": {"command": gated(go, f"echo finished >> {done}")},
        "append": {"command": ["sh", "-c", f'echo "$LOCKGATE_RUN_ID" >> {ticks}']},
    }
    config = write_config(tmp_path, url=sqlite_url, jobs=jobs)
    d = daemons.start(config)
    run_id = trigger(config, "slow")
    started(d, run_id)

    port = d.port
    write_config(tmp_path, url=sqlite_url, port=port, jobs=jobs, schedules={
        "every": {"cron": "* * * * * *", "target": "append"}})
    d.send(signal.SIGHUP)
    reloaded = d.wait_event("config_reloaded")
    assert reloaded["schedules"] == 1
    wait_for(lambda: len(lines(ticks)) >= 2, what="the new schedule's runs")
    assert run(sqlite_url, run_id)["status"] == "running"
    go.touch()
    wait_for(lambda: run(sqlite_url, run_id)["status"] != "running", what="the slow run to end")
    assert run(sqlite_url, run_id)["status"] == "succeeded"
    assert lines(done) == ["finished"]
    assert d.running


def test_sighup_with_an_invalid_config_logs_it_and_keeps_the_old_one(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    ticks = tmp_path / "ticks"
    config = write_config(tmp_path, url=sqlite_url, jobs={
        "append": {"command": ["sh", "-c", f'echo "$LOCKGATE_RUN_ID" >> {ticks}']},
    }, schedules={"every": {"cron": "* * * * * *", "target": "append"}})
    d = daemons.start(config)
    wait_for(lambda: lines(ticks), what="a first run")

    good = config.read_text()
    config.write_text(good.replace('"* * * * * *"', '"61 * * * *"'))
    d.send(signal.SIGHUP)
    failed = d.wait_event("config_reload_failed")
    assert "61" in failed["error"] and "cron" in failed["error"]
    assert d.running
    count = len(lines(ticks))
    wait_for(lambda: len(lines(ticks)) >= count + 2, what="the old schedule to keep firing")
    assert d.find("config_reloaded") == []
    code, body = d.health()
    assert code == 200, body


def test_runs_queued_for_a_target_removed_by_a_reload_fail_with_the_reason(
        tmp_path: Path, sqlite_url: str, daemons: Daemons) -> None:
    go = tmp_path / "go"
    jobs: dict[str, Any] = {
        "blocker": {"command": gated(go)},
        "doomed": {"command": ["true"]},
    }
    config = write_config(tmp_path, url=sqlite_url, jobs=jobs,
                          launcher={"max_concurrent_runs": 1})
    d = daemons.start(config)
    blocker = trigger(config, "blocker")
    started(d, blocker)
    doomed = [trigger(config, "doomed") for _ in range(2)]
    assert all(run(sqlite_url, r)["status"] == "queued" for r in doomed)

    write_config(tmp_path, url=sqlite_url, port=d.port, jobs={"blocker": jobs["blocker"]},
                 launcher={"max_concurrent_runs": 1})
    d.send(signal.SIGHUP)
    d.wait_event("config_reloaded")
    assert all(run(sqlite_url, r)["status"] == "queued" for r in doomed)
    go.touch()
    wait_for(lambda: all(run(sqlite_url, r)["status"] == "failed" for r in doomed),
             what="the doomed runs to fail")
    for run_id in doomed:
        error = run(sqlite_url, run_id)["error"]
        assert "'doomed'" in error and "no longer defined" in error
    wait_for(lambda: run(sqlite_url, blocker)["status"] == "succeeded", what="the blocker")
