"""Retention inside a running daemon, and the log cap on a job that keeps writing: on
SQLite and PostgreSQL, with real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from daemon_helpers import Daemons, query, wait_for, write_config

LOCKGATE = str(Path(sys.executable).parent / "lockgate")
LIMIT = 64 * 1024


def with_retention(config: Path, **retention: object) -> Path:
    data = json.loads(config.read_text())
    data["retention"] = retention
    config.write_text(json.dumps(data, indent=1))
    return config


def test_daemon_prunes_while_running_and_logs_retention_pruned(
        tmp_path: Path, store_url: str, daemons: Daemons) -> None:
    config = with_retention(write_config(tmp_path, url=store_url, jobs={
        "hello": {"command": ["echo", "hello"]},
    }, schedules={
        "every": {"cron": "* * * * * *", "target": "hello", "catchup": "none"},
    }), runs="2s", ticks="2s", logs="2s", interval="1s", batch=2)
    d = daemons.start(config)

    event = d.wait_event("retention_pruned", where=lambda e: e.get("runs", 0) > 0,
                         timeout=60)
    assert event["rows"] is True and event["log_files"] > 0
    assert {"run_attempts", "ticks", "run_keys", "log_bytes"} <= set(event)

    def counted() -> str | None:
        text = d.get("/metrics")[1].decode()
        return text if 'lockgate_retention_pruned_total{table="runs"}' in text else None

    assert 'lockgate_retention_pruned_total{table="log_files"}' in wait_for(
        counted, what="the retention counter")
    # Tombstones keep every key the schedule spent, including those of pruned runs.
    keys = query(store_url, "SELECT COUNT(*) FROM run_keys WHERE origin = 'schedule:every'")
    remaining = query(store_url, "SELECT COUNT(*) FROM runs")
    assert keys[0][0] > remaining[0][0]
    folders = {int(p.name) for p in (tmp_path / "state" / "logs").iterdir()}
    present = {r[0] for r in query(store_url, "SELECT id FROM runs")}
    assert folders <= present  # no log folder outlives its run
    code, body = d.health()
    assert code == 200 and body["status"] == "ok"


def test_a_job_writing_past_the_cap_keeps_disk_use_bounded(tmp_path: Path,
                                                           sqlite_url: str) -> None:
    # About 3 MiB at about 1 MiB/s, far past a 64 KiB cap.
    script = tmp_path / "noisy.py"
    script.write_text("import sys, time\n"
                      "for i in range(48):\n"
                      "    sys.stdout.write(''.join('%03d %05d ' % (i, j) + 'x' * 53 + '\\n'"
                      " for j in range(1024)))\n"
                      "    sys.stdout.flush(); time.sleep(0.06)\n"
                      "print('the last line')\n")
    config = with_retention(write_config(tmp_path, url=sqlite_url, jobs={
        "noisy": {"command": [sys.executable, str(script)]},
    }), max_log_bytes="64KiB")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKGATE_")}
    run = json.loads(subprocess.run(
        [LOCKGATE, "--config", str(config), "trigger", "noisy", "--json"], env=env,
        capture_output=True, text=True, timeout=60, check=True).stdout)
    log = tmp_path / "state" / "logs" / str(run["run_id"]) / "attempt-1.log"
    worker = subprocess.Popen([LOCKGATE, "--config", str(config), "worker", "--drain"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    most, largest = 0, 0
    while worker.poll() is None:
        try:
            st = os.stat(log)
        except FileNotFoundError:
            pass
        else:
            most, largest = max(most, st.st_blocks * 512), max(largest, st.st_size)
        time.sleep(0.02)
    assert worker.returncode == 0, worker.stderr.read() if worker.stderr else ""
    assert largest > 2 * 1024 * 1024  # the job did write its 3 MiB
    assert most < 2 * 1024 * 1024  # and the disk never held most of it

    text = log.read_bytes()
    assert len(text) < LIMIT + 200 and b"\0" not in text
    assert text.startswith(b"lockgate: run ") and text.endswith(b"the last line\n")
    assert b" bytes cut: launcher log limit retention.max_log_bytes ...]\n" in text
    shown = subprocess.run([LOCKGATE, "--config", str(config), "runs", "logs",
                            str(run["run_id"])], env=env, capture_output=True, timeout=60)
    assert shown.returncode == 0 and shown.stdout == text
