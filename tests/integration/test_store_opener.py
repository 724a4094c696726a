"""The opener: driver connections without SQLAlchemy when the schema is current (same
transactions as the Store's), else the fallback Store; driver errors translated."""

from __future__ import annotations

import pytest

from lockgate.store import Store
from lockgate.store.driver import RawConnection
from lockgate.store.opener import reading, try_reading, writing


def _no_fallback() -> Store:
    raise AssertionError("the driver path should have served")


def _count(store: Store) -> int:
    with store.read() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM backfills").scalar() or 0)


def _insert(conn) -> None:  # type: ignore[no-untyped-def]
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    conn.exec_driver_sql(
        "INSERT INTO backfills (asset, status, selection, chunk, priority, partition_count, "
        f"run_count, created_at, updated_at) VALUES ({mark}, 'running', '{{}}', 1, 0, 0, 0, "
        "'2024-01-01 00:00:00', '2024-01-01 00:00:00')", ("a",))


def test_a_write_commits_when_the_block_ends(store: Store, store_url: str) -> None:
    with writing(store_url, fallback=_no_fallback) as conn:
        assert isinstance(conn, RawConnection)
        _insert(conn)
    assert _count(store) == 1


def test_an_exception_rolls_the_write_back(store: Store, store_url: str) -> None:
    with pytest.raises(RuntimeError), \
            writing(store_url, fallback=_no_fallback) as conn:
        assert isinstance(conn, RawConnection)
        _insert(conn)
        raise RuntimeError("boom")
    assert _count(store) == 0


def test_another_revision_or_no_database_means_the_full_store(store: Store, store_url: str,
                                                              tmp_path) -> None:  # type: ignore[no-untyped-def]
    with store.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    fallbacks: list[str] = []

    def fallback() -> Store:
        fallbacks.append("used")
        return Store.empty()

    with writing(store_url, fallback=fallback) as conn:
        assert not isinstance(conn, RawConnection)
    with try_reading(store_url) as raw:
        assert raw is None
    with reading(store_url, fallback=fallback) as conn:
        assert not isinstance(conn, RawConnection)
    assert fallbacks == ["used", "used"]
    with try_reading(f"sqlite:///{tmp_path / 'absent.db'}") as raw:
        assert raw is None
    assert not (tmp_path / 'absent.db').exists()


def test_reads_see_committed_rows(store: Store, store_url: str) -> None:
    with store.begin() as conn:
        _insert(conn)
    with reading(store_url, fallback=_no_fallback) as raw:
        assert isinstance(raw, RawConnection)
        assert raw.exec_driver_sql("SELECT asset FROM backfills").all() == [("a",)]


def test_a_driver_error_on_the_driver_path_leaves_as_a_store_error(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from lockgate.errors import StoreError

    opened = Store.open(sqlite_url)
    opened.upgrade()
    opened.close()
    # The same "database is locked" after a fraction of a second instead of the 30 s a
    # real caller waits for the holder: what is checked is the error, not the wait.
    monkeypatch.setattr("lockgate.store.driver.SQLITE_BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(sqlite_url[len("sqlite:///"):], isolation_level=None)
    holder.execute("PRAGMA busy_timeout=0")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="database is locked") as caught, \
                writing(sqlite_url, fallback=_no_fallback):
            pass
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
