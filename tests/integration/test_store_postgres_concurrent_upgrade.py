"""Several processes upgrading one database at once (daemons starting together).

Runs on PostgreSQL, where an advisory lock serializes the upgrades, and on SQLite,
where the IMMEDIATE write transaction does.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from lockgate.store import Store, migrate
from lockgate.store.tables import metadata

PROCESSES = 4
# Generous: a bound on a hang, not a speed expectation.
WAIT_S = 120

UPGRADER = """
import sys, time
from pathlib import Path
from lockgate import logs
from lockgate.store import Store, migrate

logs.configure("json", stream=sys.stderr)
url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
store = Store.open(url)
store.engine.connect().close()  # connected before the start signal
ready.touch()
while not go.exists():
    time.sleep(0.005)
print(migrate.upgrade(store))
store.close()
"""


def _spawn(url: str, tmp_path: Path, name: str) -> tuple[subprocess.Popen[str], Path]:
    ready = tmp_path / f"ready-{name}"
    proc = subprocess.Popen(
        [sys.executable, "-c", UPGRADER, url, str(ready), str(tmp_path / "go")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, ready


def _wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


def test_concurrent_upgrades_apply_the_schema_once(store_url: str, tmp_path: Path) -> None:
    children = [_spawn(store_url, tmp_path, str(n)) for n in range(PROCESSES)]
    try:
        _wait_for(lambda: all(ready.exists() or proc.poll() is not None
                              for proc, ready in children), "the upgraders to connect")
        (tmp_path / "go").touch()
        results = [(*proc.communicate(timeout=WAIT_S), proc.returncode)
                   for proc, _ in children]
    finally:
        for proc, _ in children:
            proc.kill() if proc.poll() is None else None
    for out, err, code in results:
        assert code == 0, err
        assert out.strip() == migrate.head_revision()
    # One process did the work; the others found it done.
    assert sum(err.count('"store_upgraded"') for _, err, _ in results) == 1

    store = Store.open(store_url)
    try:
        with store.read() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
            assert [v for (v,) in versions] == [migrate.head_revision()]
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        store.close()


@pytest.mark.postgres
def test_postgres_upgrade_waits_for_the_advisory_lock(
        postgres_url: str, tmp_path: Path) -> None:
    holder = Store.open(postgres_url)
    try:
        with holder.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": migrate.PG_UPGRADE_LOCK})
            proc, _ = _spawn(postgres_url, tmp_path, "waiter")
            (tmp_path / "go").touch()
            try:
                _wait_for(lambda: proc.poll() is not None or _lock_waiters(conn) > 0,
                          "the upgrader to queue on the advisory lock")
                assert proc.poll() is None, proc.communicate()[1]
                assert _lock_waiters(conn) == 1
                # While it waits, nothing has been created yet.
                assert conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() \
                    is None
            except BaseException:
                proc.kill()
                raise
        out, err = proc.communicate(timeout=WAIT_S)
        assert proc.returncode == 0, err
        assert out.strip() == migrate.head_revision()
        assert migrate.status(holder)["state"] == "current"
    finally:
        holder.close()


def _lock_waiters(conn: object) -> int:
    return int(conn.execute(text(  # type: ignore[attr-defined]
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND ((classid::bigint << 32) | objid::bigint) = :k"), {"k": migrate.PG_UPGRADE_LOCK},
    ).scalar_one())
