"""Engines and connections: SQLite settings, URLs, and errors a user can act on."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from lockgate.errors import SchemaMismatch, StoreError
from lockgate.store import Store, migrate
from lockgate.store.driver import sqlite_file, sqlite_file_missing, sqlite_path
from lockgate.store.engine import READ_ONLY, SQLITE_BUSY_TIMEOUT_MS, normalize_url


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    opened = Store.open(sqlite_url)
    yield opened
    opened.close()


def _pragma(store: Store, name: str) -> object:
    with store.read() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()


def test_sqlite_runs_in_wal_mode(sqlite_store: Store) -> None:
    assert _pragma(sqlite_store, "journal_mode") == "wal"


def test_switching_a_new_database_to_wal_waits_for_another_writer(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite refuses the switch at once, without its busy handler, while another
    # connection writes to the file in rollback-journal mode (several processes
    # opening a new database together); lockgate retries instead of failing.
    import time

    path = sqlite_url.removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE other (x)")
    writer.execute("BEGIN IMMEDIATE")
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the writer finishes while we wait
        waits.append(seconds)
        writer.execute("COMMIT")

    monkeypatch.setattr(time, "sleep", sleep)
    store = Store.open(sqlite_url)
    try:
        assert _pragma(store, "journal_mode") == "wal"
    finally:
        store.close()
        writer.close()
    assert len(waits) == 1


def test_sqlite_waits_for_a_busy_database(sqlite_store: Store) -> None:
    assert _pragma(sqlite_store, "busy_timeout") == SQLITE_BUSY_TIMEOUT_MS


def test_sqlite_enforces_foreign_keys(sqlite_store: Store) -> None:
    assert _pragma(sqlite_store, "foreign_keys") == 1


def test_sqlite_settings_hold_on_every_pooled_connection(sqlite_store: Store) -> None:
    engine = sqlite_store.engine.execution_options(**{READ_ONLY: True})
    with engine.connect() as first, engine.connect() as second:
        for conn in (first, second):
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == \
                SQLITE_BUSY_TIMEOUT_MS


def test_sqlite_write_transactions_take_the_write_lock_at_begin(
        sqlite_store: Store, sqlite_url: str) -> None:
    # What makes concurrent upgrades and claims safe: the lock is taken before any
    # read, so a second writer waits instead of deciding on a stale read.
    migrate.upgrade(sqlite_store)
    path = sqlite_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with sqlite_store.begin():
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.execute("SELECT count(*) FROM runs").fetchone()  # readers still read
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_sqlite_read_transactions_do_not_block_writers(
        sqlite_store: Store, sqlite_url: str) -> None:
    migrate.upgrade(sqlite_store)
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0,
                            isolation_level=None)
    try:
        with sqlite_store.read() as conn:
            conn.execute(text("SELECT count(*) FROM runs")).scalar_one()
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO leases (name, token) VALUES ('x', 1)")
            other.execute("COMMIT")
    finally:
        other.close()


def test_sqlite_database_folder_is_created(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'a' / 'b' / 'lockgate.db'}")
    try:
        migrate.upgrade(store)
    finally:
        store.close()
    assert (tmp_path / "a" / "b" / "lockgate.db").is_file()


@pytest.mark.parametrize(("url", "file", "raw"), [
    ("sqlite:////tmp/x.db", "/tmp/x.db", "/tmp/x.db"),
    ("sqlite:///rel/x.db", "rel/x.db", "rel/x.db"),
    ("sqlite:///a%20b.db", "a b.db", "a b.db"),  # decoded, as the engine reads it
    ("sqlite:///x.db?timeout=5", "x.db", None),  # a query: the engine opens it
    ("sqlite+pysqlite:///y.db", "y.db", None),
    ("sqlite://", None, None), ("sqlite:///", None, None), ("sqlite:///:memory:", None, None),
    ("sqlite:///file:q?mode=ro&uri=true", None, None),
    ("postgresql://u@h/db", None, None), ("sqlitex:///a", None, None),
])
def test_sqlite_url_rules(url: str, file: str | None, raw: str | None) -> None:
    assert sqlite_file(url) == file
    assert sqlite_path(url) == raw


def test_a_missing_sqlite_file_is_told_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "lockgate.db"
    assert sqlite_file_missing(f"sqlite:///{missing}")
    assert not (tmp_path / "no").exists()
    assert not sqlite_file_missing(f"sqlite:///{tmp_path}")  # exists
    assert not sqlite_file_missing("sqlite:///:memory:")
    assert not sqlite_file_missing("postgresql://u@h/db")


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://u@h/db",
                                 "postgresql+psycopg://u@h/db"])
def test_postgres_urls_use_psycopg_3(url: str) -> None:
    assert normalize_url(url) == "postgresql+psycopg://u@h/db"


def test_a_url_that_does_not_parse_is_a_store_error() -> None:
    with pytest.raises(StoreError, match=r"'not a url' does not parse.*sqlite:///"):
        Store.open("not a url")


def test_an_unsupported_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match=r"supports sqlite:/// and postgresql://"):
        Store.open("mysql://user@host/db")


@pytest.mark.parametrize("url", ["mysql://user@host/db", "not a url"])
def test_a_url_no_restart_can_fix_exits_with_the_setup_code(url: str) -> None:
    from lockgate.errors import EXIT_SETUP

    with pytest.raises(StoreError) as caught:
        Store.open(url)
    assert caught.value.exit_code == EXIT_SETUP
    assert "storage.url" in str(caught.value) or "write e.g." in str(caught.value)


def test_unreachable_postgres_is_a_store_error() -> None:
    store = Store.open("postgresql://lockgate@127.0.0.1:1/lockgate")
    try:
        with pytest.raises(StoreError) as caught:
            migrate.upgrade(store)
        assert not isinstance(caught.value, SchemaMismatch)
        message = str(caught.value)
        assert "postgresql+psycopg://lockgate@127.0.0.1:1/lockgate" in message
        assert "Connection refused" in message or "connection failed" in message
        assert "check that it is reachable" in message
        assert "Traceback" not in message and "sqlalche.me" not in message
        with pytest.raises(StoreError):
            migrate.status(store)
    finally:
        store.close()


def test_a_password_never_appears_in_store_errors() -> None:
    store = Store.open("postgresql://lockgate:hunter2@127.0.0.1:1/lockgate")
    try:
        with pytest.raises(StoreError) as caught:
            migrate.current_revision(store)
    finally:
        store.close()
    assert "hunter2" not in str(caught.value)


def test_sqlite_folder_that_cannot_be_created_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where a folder should be")
    with pytest.raises(StoreError, match=r"cannot create the database folder .*file"):
        Store.open(f"sqlite:///{tmp_path / 'file' / 'sub' / 'lockgate.db'}")


def test_sqlite_path_that_cannot_be_opened_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    store = Store.open(f"sqlite:///{tmp_path / 'folder'}")
    try:
        with pytest.raises(StoreError, match=r"unable to open database file.*reachable"):
            migrate.upgrade(store)
    finally:
        store.close()


def test_sqlite_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are notes, not a database\n" * 100)
    store = Store.open(f"sqlite:///{path}")
    try:
        with pytest.raises(StoreError, match=r"file is not a database.*storage.url"):
            migrate.status(store)
    finally:
        store.close()
    assert path.read_text().startswith("these are notes")
