"""``lockgate db backup`` as a user runs it: a consistent copy of a SQLite store taken
while a daemon writes to it, replaced only with --force, and a PostgreSQL store
pointed to pg_dump."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from daemon_helpers import Daemons, lockgate, query, wait_for, write_config

from lockgate.store import Store, migrate

HEAD = migrate.head_revision()
FILLER_RUNS = 20_000  # about 12 MiB: the copy takes many steps while the daemon writes


def _store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'lockgate.db'}"


def _config(tmp_path: Path, url: str) -> Path:
    return write_config(tmp_path, url=url, jobs={"noop": {"command": ["true"]}}, schedules={
        "every": {"cron": "* * * * * *", "target": "noop", "catchup": "none"}})


def _create(url: str) -> None:
    """The store at the head revision, as `lockgate db upgrade` makes it."""
    store = Store.open(url)
    try:
        store.upgrade()
    finally:
        store.close()


def _fill(url: str, count: int) -> None:
    """``count`` finished manual runs, written straight into the store's file."""
    path = url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, timeout=30)
    with conn:
        conn.executemany(
            "INSERT INTO runs (target, job, origin, run_key, partition_count, status, "
            "attempt, priority, trigger, queued_at, finished_at, cancel_requested) VALUES "
            "('noop', 'noop', 'manual', NULL, 0, 'succeeded', 1, 0, ?, "
            "'2026-01-01 00:00:00.000000', '2026-01-01 00:00:01.000000', 0)",
            [(json.dumps({"filler": i, "pad": "x" * 500}),) for i in range(count)])
    conn.close()


def _copy_config(tmp_path: Path, copy: Path) -> Path:
    """A config whose store is the backup, to open it as lockgate does."""
    folder = tmp_path / "restored"
    folder.mkdir(exist_ok=True)
    return write_config(folder, url=f"sqlite:///{copy}", jobs={"noop": {"command": ["true"]}})


def test_backup_while_the_daemon_writes_is_complete_and_consistent(
        tmp_path: Path, daemons: Daemons) -> None:
    url = _store(tmp_path)
    config = _config(tmp_path, url)
    _create(url)
    _fill(url, FILLER_RUNS)
    d = daemons.start(config)
    wait_for(lambda: query(url, "SELECT count(*) FROM runs WHERE origin = 'schedule:every' "
                                "AND status = 'succeeded'")[0][0] >= 2,
             what="the schedule's first runs")
    stop = threading.Event()

    def trigger_stream() -> None:
        while not stop.is_set():
            lockgate("trigger", "noop", "--config", str(config))

    streamer = threading.Thread(target=trigger_stream, daemon=True)
    streamer.start()
    try:
        wait_for(lambda: query(url, "SELECT count(*) FROM runs WHERE origin = 'manual' "
                                    "AND id > ?", (FILLER_RUNS,))[0][0] >= 1,
                 what="a triggered run")
        before = {r[0]: r[1:] for r in query(
            url, "SELECT id, status, run_key FROM runs WHERE status IN "
                 "('succeeded', 'failed', 'canceled')")}
        copy = tmp_path / "backups" / "lockgate-copy.db"
        copy.parent.mkdir()
        result = lockgate("db", "backup", str(copy), "--json", "--config", str(config))
    finally:
        stop.set()
        streamer.join(30)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["path"] == str(copy)
    assert report["bytes"] == copy.stat().st_size
    assert report["pages"] > 256 * 4  # several steps of the online backup
    assert report["revision"] == HEAD
    assert report["seconds"] >= 0
    assert sorted(p.name for p in copy.parent.iterdir()) == ["lockgate-copy.db"]

    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        copied = {r[0]: r[1:] for r in conn.execute("SELECT id, status, run_key FROM runs")}
    finally:
        conn.close()
    # Every run finished before the backup began is in the copy, as it was.
    assert {i: copied.get(i) for i in before} == before
    assert d.running  # the daemon went on through the backup
    status = lockgate("db", "status", "--json", "--config", str(_copy_config(tmp_path, copy)))
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["current"] == HEAD


def test_an_existing_path_is_refused_without_force_and_replaced_with_it(
        tmp_path: Path) -> None:
    url = _store(tmp_path)
    config = _config(tmp_path, url)
    assert lockgate("trigger", "noop", "--config", str(config)).returncode == 0
    copy = tmp_path / "copy.db"
    copy.write_text("an older backup")

    refused = lockgate("db", "backup", str(copy), "--config", str(config))
    assert refused.returncode == 2
    assert str(copy) in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert copy.read_text() == "an older backup"

    replaced = lockgate("db", "backup", str(copy), "--force", "--config", str(config))
    assert replaced.returncode == 0, replaced.stderr
    assert str(copy) in replaced.stdout
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    finally:
        conn.close()


def test_a_missing_or_unwritable_folder_gets_a_clear_error(tmp_path: Path) -> None:
    url = _store(tmp_path)
    config = _config(tmp_path, url)
    _create(url)

    missing = tmp_path / "nowhere" / "copy.db"
    result = lockgate("db", "backup", str(missing), "--config", str(config))
    assert result.returncode == 2
    assert str(missing.parent) in result.stderr and "mkdir -p" in result.stderr
    assert not missing.parent.exists()

    # /proc takes no new files, whoever runs the test (root included).
    result = lockgate("db", "backup", "/proc/lockgate-copy.db", "--config", str(config))
    assert result.returncode == 78, result.stderr
    assert "/proc/lockgate-copy.db" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_postgres_store_is_pointed_to_pg_dump_without_its_password(tmp_path: Path) -> None:
    config = tmp_path / "lockgate.yaml"
    config.write_text("storage:\n  url: 'postgresql+psycopg://lockgate:s3cr3t-pw@db.example:"
                      "5433/prod'\njobs:\n  noop:\n    command: [\"true\"]\n")
    for args in ((), ("--json",)):
        result = lockgate("db", "backup", str(tmp_path / "copy.db"), *args,
                          "--config", str(config))
        assert result.returncode == 2, result.stderr
        assert "pg_dump --format=custom" in result.stderr
        assert "postgresql://lockgate@db.example:5433/prod" in result.stderr
        assert "README" in result.stderr
        assert "s3cr3t-pw" not in result.stderr + result.stdout
        assert not (tmp_path / "copy.db").exists()
