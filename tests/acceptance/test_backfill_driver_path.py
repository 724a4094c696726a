"""``lockgate backfill launch`` on the driver path: what it reads of runs in progress, and
when the database fails, lockgate's error, never a crash."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from lockgate.store import Store

LOCKGATE = str(Path(sys.executable).parent / "lockgate")
JAN = {"cadence": "daily", "start": "2024-01-01", "end": "2024-02-01", "timezone": "UTC"}


def _project(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "lockgate.db"
    config = tmp_path / "lockgate.yaml"
    config.write_text(json.dumps({
        "storage": {"url": f"sqlite:///{db}"},
        "assets": {"quick": {"command": ["true"], "partitions": JAN}},
    }))
    return config, db


def _launch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LOCKGATE, "--config", str(config), "backfill", "launch", "quick",
                           *(args or ("--all",)), "--json"],
                          capture_output=True, text=True, timeout=90)


def test_missing_only_leaves_out_every_partition_of_a_running_chunked_run(
        tmp_path: Path) -> None:
    config, db = _project(tmp_path)
    store = Store.open(f"sqlite:///{db}")
    store.upgrade()
    store.close()
    first = _launch(config, "--from", "2024-01-02", "--to", "2024-01-04", "--chunk", "3")
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(db) as conn:  # a worker took the chunk: 02, 03 and 04 in progress
        conn.execute("UPDATE runs SET status = 'running'")
    again = _launch(config, "--from", "2024-01-01", "--to", "2024-01-05", "--missing-only")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["partitions"] == 2  # 2024-01-01 and 2024-01-05


def test_backfill_launch_on_a_locked_store_says_the_database_failed(tmp_path: Path) -> None:
    config, db = _project(tmp_path)
    store = Store.open(f"sqlite:///{db}")
    store.upgrade()  # current schema: launch takes the driver path
    store.close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = _launch(config)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1, result.stderr
    assert "database is locked" in result.stderr
    assert "internal error" not in result.stderr


def test_backfill_launch_on_a_file_that_is_not_a_database_says_so(tmp_path: Path) -> None:
    config, db = _project(tmp_path)
    db.write_bytes(b"this is not a database, it is a text file\n" * 100)
    result = _launch(config)
    assert result.returncode == 1, result.stderr
    assert "file is not a database" in result.stderr
    assert "internal error" not in result.stderr
