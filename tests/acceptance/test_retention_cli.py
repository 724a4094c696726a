"""Retention as a user drives it: `lockgate db prune` (dry run, then for real), a replayed
run key answered by its tombstone, and `runs logs` of a log that retention removed; on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from lockgate.store import Store
from lockgate.store.tables import runs

LOCKGATE = str(Path(sys.executable).with_name("lockgate"))
NOW = dt.datetime.now(dt.UTC)


def lockgate(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKGATE_")}
    return subprocess.run([LOCKGATE, "--config", str(project / "lockgate.yaml"), *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=120)


def ok_json(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def project(tmp_path: Path, store_url: str) -> tuple[Path, str]:
    if store_url.startswith("sqlite"):
        store_url = f"sqlite:///{tmp_path / 'state' / 'lockgate.db'}"
    config = {
        "storage": {"url": store_url},
        "launcher": {"state_dir": "state", "poll_interval": "50ms"},
        "retention": {"runs": "90d", "logs": "30d"},
        "jobs": {"hello": {"command": ["echo", "hello"]}},
    }
    (tmp_path / "lockgate.yaml").write_text(json.dumps(config))
    return tmp_path, store_url


def age(url: str, run_ids: list[int], days: int) -> None:
    store = Store.open(url)
    try:
        with store.begin() as conn:
            conn.execute(update(runs).where(runs.c.id.in_(run_ids))
                         .values(finished_at=NOW - dt.timedelta(days=days)))
    finally:
        store.close()


def test_prune_dry_run_then_prune_then_the_pruned_key_is_a_tombstone(
        project: tuple[Path, str]) -> None:
    folder, url = project
    first = ok_json(lockgate(folder, "trigger", "hello", "--run-key", "K", "--json"))
    month = ok_json(lockgate(folder, "trigger", "hello", "--run-key", "M", "--json"))
    newest = ok_json(lockgate(folder, "trigger", "hello", "--json"))
    assert lockgate(folder, "worker", "--drain").returncode == 0
    age(url, [int(first["run_id"])], days=100)  # type: ignore[call-overload]
    age(url, [int(month["run_id"])], days=40)  # type: ignore[call-overload]

    dry = ok_json(lockgate(folder, "db", "prune", "--dry-run", "--json"))
    assert dry["dry_run"] is True
    expected = {"runs": 1, "run_attempts": 1, "run_deps": 0, "ticks": 0, "run_keys": 0,
                "log_files": 2}
    assert {k: dry["deleted"][k] for k in expected} == expected  # type: ignore[index]
    logs = folder / "state" / "logs"
    assert (logs / str(first["run_id"])).exists()  # a dry run deletes nothing

    done = ok_json(lockgate(folder, "db", "prune", "--json"))
    assert done["dry_run"] is False and done["deleted"] == dry["deleted"]
    assert not (logs / str(first["run_id"])).exists()
    assert not (logs / str(month["run_id"])).exists()
    assert (logs / str(newest["run_id"])).exists()

    again = ok_json(lockgate(folder, "trigger", "hello", "--run-key", "K", "--json"))
    assert again["created"] is False and again["pruned"] is True
    assert again["run_id"] == first["run_id"]
    text = lockgate(folder, "trigger", "hello", "--run-key", "K")
    assert text.returncode == 0 and "pruned by retention" in text.stdout

    gone = lockgate(folder, "runs", "logs", str(month["run_id"]))
    assert gone.returncode == 1 and "Traceback" not in gone.stderr
    assert "removed by retention.logs" in gone.stderr

    fresh = ok_json(lockgate(folder, "trigger", "hello", "--json"))
    assert int(fresh["run_id"]) > int(newest["run_id"])  # type: ignore[call-overload]
    table = lockgate(folder, "db", "prune")
    assert table.returncode == 0 and "run_attempts" in table.stdout


def test_vacuum_converts_an_old_sqlite_store_to_incremental(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "state" / "lockgate.db"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:  # a store made before incremental auto-vacuum
        conn.execute("CREATE TABLE placeholder (x)")
    config = {"storage": {"url": f"sqlite:///{db}"}, "launcher": {"state_dir": "state"},
              "jobs": {"hello": {"command": ["true"]}}}
    (tmp_path / "lockgate.yaml").write_text(json.dumps(config))
    assert lockgate(tmp_path, "db", "upgrade").returncode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    out = ok_json(lockgate(tmp_path, "db", "prune", "--vacuum", "--json"))
    assert out["vacuumed"] is True
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_bad_retention_value_is_a_clear_check_error(tmp_path: Path) -> None:
    (tmp_path / "lockgate.yaml").write_text(
        "retention:\n  runs: someday\njobs:\n  hello:\n    command: ['true']\n")
    result = lockgate(tmp_path, "check")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "retention.runs" in result.stderr and "forever" in result.stderr
    env_result = subprocess.run(
        [LOCKGATE, "--config", str(tmp_path / "lockgate.yaml"), "check"], cwd=tmp_path,
        env={**os.environ, "LOCKGATE_RETENTION_RUNS": "30d"}, capture_output=True,
        text=True, timeout=60)
    assert env_result.returncode == 0, env_result.stderr
