"""A SQLite store whose disk fills up while the daemon runs, on a small tmpfs of its own.

The store, the state folder (run logs) and a filler file share a 4 MiB tmpfs; the
watched folder is elsewhere, so files still arrive while the disk is full. The daemon
stays up, says what fails in its log and /healthz, loses and doubles nothing, and picks
up by itself once space is freed; the store passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import collections
import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import Daemons, lockgate, runs, wait_for, write_config
from sensor_helpers import ApiServer, sensor_config, write_file

FULL_SECONDS = 6


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 4 MiB tmpfs for the disk-full case (needs root and "
                    f"mount permission): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; returns it."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass
    return filler


def file_runs(url: str) -> collections.Counter[str]:
    return collections.Counter(json.loads(r["trigger"])["file"]["relpath"]
                               for r in runs(url, "sensor:drop"))


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer()
    yield server
    server.close()


def test_a_full_disk_under_sqlite_stops_nothing_loses_nothing_and_corrupts_nothing(
        tmp_path: Path, small_disk: Path, daemons: Daemons, api: ApiServer) -> None:
    db = small_disk / "lockgate.db"
    url = f"sqlite:///{db}"
    inbox = tmp_path / "in"
    inbox.mkdir()
    chatty = {"command": ["sh", "-c", "echo started; head -c 2000 /dev/zero | tr '\\0' x"]}
    api.publish({"data": [{"id": 1}]})
    config = sensor_config(
        tmp_path, url=url, jobs={"work": chatty},
        # No periodic rescan within the test: files come by their events, and after a
        # refused commit by the sensor's own retry.
        sensors={"drop": {"kind": "file", "path": str(inbox), "target": "work",
                          "interval": "10m"},
                 # Reads still work on a full disk: each poll fetches, its commit fails,
                 # the cursor stays, and the next poll after the disk-full asks again.
                 "api": {"kind": "http", "url": api.url + "/items", "target": "work",
                         "interval": "300ms", "jitter": "0s", "items": "data", "key": "id"}},
        # The lease outlives the full disk, so the sensors keep trying their commits.
        daemon={"lease_ttl": "40s"}, launcher={"state_dir": str(small_disk / "state")})
    raw = json.loads(config.read_text())
    raw["schedules"] = {"every": {"cron": "* * * * * *", "target": "work", "catchup": "latest"}}
    config.write_text(json.dumps(raw))
    d = daemons.start(config)
    write_file(inbox / "a0.csv")
    wait_for(lambda: file_runs(url) and runs(url, "sensor:api")
             and len(runs(url, "schedule:every")) >= 2, what="runs before the disk fills")

    filler = fill(small_disk)
    for i in range(5):
        write_file(inbox / f"b{i}.csv")
    api.publish({"data": [{"id": 1}, {"id": 2}, {"id": 3}]})
    polled = len(api.requests)

    def unhealthy() -> dict[str, Any] | None:
        code, body = d.health()
        return body if code == 503 and "store" in body.get("problems", {}) else None

    health = wait_for(unhealthy, timeout=30, what="/healthz unhealthy with the reason")
    wait_for(lambda: d.find("sensor_commit_failed", lambda e: e["sensor"] == "api"),
             what="an HTTP poll whose commit failed")
    assert "database or disk is full" in json.dumps(health["problems"])
    assert str(db) in json.dumps(health["problems"])
    errors = [json.dumps(e) for e in d.events if e.get("level") == "error"]
    assert any("database or disk is full" in e and str(db) in e for e in errors)
    refused = lockgate("trigger", "work", "--config", str(config))
    assert refused.returncode == 1
    [line] = refused.stderr.splitlines()
    assert "database or disk is full" in line and str(db) in line
    assert lockgate("runs", "list", "--config", str(config)).returncode == 0  # reads work
    time.sleep(FULL_SECONDS)
    assert d.running
    assert len(api.requests) > polled + 2  # it kept polling (reads work on a full disk)

    filler.unlink()
    wait_for(lambda: d.health()[0] == 200, timeout=30, what="/healthz healthy again")
    wait_for(lambda: len(file_runs(url)) == 6
             and all(r["status"] in ("succeeded", "failed") for r in runs(url)),
             timeout=30, what="every file requested, every run finished")
    assert file_runs(url) == {f"{n}.csv": 1 for n in ["a0"] + [f"b{i}" for i in range(5)]}
    wait_for(lambda: len(runs(url, "sensor:api")) == 3, what="the items polled while full")
    assert sorted(r["run_key"] for r in runs(url, "sensor:api")) == ["1", "2", "3"]
    keys = collections.Counter(r["run_key"] for r in runs(url))
    assert set(keys.values()) == {1}
    for run in runs(url):  # a run either succeeded or says why it could not
        assert run["status"] == "succeeded" or "No space left" in (run["error"] or ""), run
    d.send(signal.SIGTERM)
    assert d.wait() == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_run_logs_that_cannot_be_written_fail_the_attempt_and_the_worker_goes_on(
        tmp_path: Path, sqlite_url: str, small_disk: Path, daemons: Daemons) -> None:
    config = write_config(tmp_path, url=sqlite_url, jobs={"work": {"command": ["true"]}},
                          launcher={"state_dir": str(small_disk / "state")})
    d = daemons.start(config)
    filler = fill(small_disk)
    assert lockgate("trigger", "work", "--config", str(config)).returncode == 0
    [failed] = wait_for(lambda: [r for r in runs(sqlite_url) if r["status"] == "failed"],
                        what="the attempt failed")
    assert "cannot write the run's log" in failed["error"]
    assert str(small_disk / "state") in failed["error"]
    assert "No space left on device" in failed["error"]
    assert not d.find("run_launch_crashed")
    filler.unlink()
    assert lockgate("trigger", "work", "--config", str(config)).returncode == 0
    wait_for(lambda: [r for r in runs(sqlite_url) if r["status"] == "succeeded"],
             what="a run once space is free")
    d.send(signal.SIGTERM)
    assert d.wait() == 0
