"""The store, the state folder and run logs are private to their owner, whatever the umask.

With the common umask 022 a daemon runs a job; while it runs, every folder lockgate
created is 0700 and every file (``lockgate.db``, its ``-wal`` and ``-shm``, the run
log) is 0600. Folders that existed before keep their mode.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_helpers import Daemons, lockgate, runs, wait_for, write_config

from lockgate.private_files import make_private_dirs, open_private, touch_private


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_daemon_under_umask_022_creates_its_state_0700_and_files_0600(
    tmp_path: Path, daemons: Daemons, umask_022: None
) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'db' / 'lockgate.db'}"
    config = write_config(tmp_path, url=url, jobs={"hello": {"command": ["echo", "hi"]}})
    d = daemons.start(config)
    queued = lockgate("--config", str(config), "trigger", "hello")
    assert queued.returncode == 0, queued.stderr
    wait_for(lambda: [r for r in runs(url) if r["status"] == "succeeded"], what="the run")
    db = tmp_path / "var" / "db" / "lockgate.db"
    wal, shm = db.with_name("lockgate.db-wal"), db.with_name("lockgate.db-shm")
    assert wal.exists() and shm.exists()  # the daemon still holds the database open
    state = tmp_path / "state"
    logs = sorted((state / "logs").rglob("*.log"))
    assert logs
    for folder in (
        tmp_path / "var",
        tmp_path / "var" / "db",
        state,
        state / "logs",
        logs[0].parent,
    ):
        assert mode(folder) == 0o700, folder
    for file in (db, wal, shm, *logs):
        assert mode(file) == 0o600, file
    d.kill()


def test_folders_and_files_that_exist_keep_their_mode(tmp_path: Path, umask_022: None) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o750)
    os.chmod(shared, 0o750)
    (shared / "lockgate.db").write_bytes(b"")
    os.chmod(shared / "lockgate.db", 0o640)
    make_private_dirs(shared / "a" / "b")
    touch_private(shared / "lockgate.db")
    assert mode(shared) == 0o750 and mode(shared / "lockgate.db") == 0o640
    assert mode(shared / "a") == 0o700 and mode(shared / "a" / "b") == 0o700


def test_a_file_created_private_is_0600_even_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        os.close(open_private(tmp_path / "f.log", os.O_WRONLY | os.O_APPEND))
        make_private_dirs(tmp_path / "d")
    finally:
        os.umask(old)
    assert mode(tmp_path / "f.log") == 0o600 and mode(tmp_path / "d") == 0o700


def test_under_umask_000_every_path_lockgate_creates_is_private(
    tmp_path: Path, daemons: Daemons
) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'db' / 'lockgate.db'}"
    config = write_config(tmp_path, url=url, jobs={"hello": {"command": ["echo", "hi"]}})
    before = set(tmp_path.rglob("*"))
    old = os.umask(0)
    try:
        d = daemons.start(config)
        queued = lockgate("--config", str(config), "trigger", "hello")
        assert queued.returncode == 0, queued.stderr
        wait_for(lambda: [r for r in runs(url) if r["status"] == "succeeded"], what="the run")
        for args in (["runs", "list"], ["sensors", "list"], ["check"]):
            lockgate("--config", str(config), *args)
        created = sorted(set(tmp_path.rglob("*")) - before)
        wrong = [
            (str(p.relative_to(tmp_path)), oct(mode(p)))
            for p in created
            if mode(p) != (0o700 if p.is_dir() else 0o600)
        ]
        d.kill()
    finally:
        os.umask(old)
    assert {p.name for p in created} >= {"state", "lockgate.db", "lockgate.db.daemon-lock"}
    assert not wrong, wrong
