"""Creating engines: SQLite in WAL mode with IMMEDIATE write transactions, or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from lockgate.errors import StoreError, StoreSetupError
from lockgate.store.driver import (
    PG_CONNECT_TIMEOUT_S,
    SQLITE_BUSY_TIMEOUT_MS,
    configure_sqlite,
    normalize_url,
    sqlite_file,
)

__all__ = ["READ_ONLY", "SQLITE_BUSY_TIMEOUT_MS", "is_read_only", "make_engine", "normalize_url"]

# Execution option marking a read transaction: on SQLite it begins DEFERRED instead of
# IMMEDIATE, so readers never queue behind writers.
READ_ONLY = "lockgate_read_only"


def is_read_only(conn: object) -> bool:
    """True for a connection of ``Store.read()``; a raw-driver connection is never one."""
    options = getattr(conn, "get_execution_options", None)
    return bool(options is not None and options().get(READ_ONLY, False))


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with lockgate's settings.

    Raises:
        StoreSetupError: the URL does not parse or names a database lockgate does not
            support (a restart cannot fix either).
        StoreError: the URL names a driver that is not installed.
    """
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreSetupError(
            f"storage url {url!r} does not parse: {exc}; write e.g. "
            "sqlite:///.lockgate/lockgate.db or postgresql://user@host/db"
        ) from None
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            return _sqlite_engine(parsed, sqlite_file(url), **kwargs)
        if backend == "postgresql":
            if "connect_timeout" not in parsed.query:
                kwargs.setdefault("connect_args", {}).setdefault(
                    "connect_timeout", PG_CONNECT_TIMEOUT_S)
            kwargs.setdefault("pool_pre_ping", True)
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 20)
            return create_engine(parsed, **kwargs)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"the driver for {parsed.drivername!r} is not installed ({exc.name}); "
            "install it with: pip install 'lockgate[postgres]'"
        ) from None
    raise StoreSetupError(
        f"storage url {parsed.render_as_string(hide_password=True)!r}: lockgate supports "
        "sqlite:/// and postgresql:// URLs; set storage.url (LOCKGATE_STORAGE_URL) to e.g. "
        "sqlite:///.lockgate/lockgate.db or postgresql+psycopg://user@host/db"
    )


def _sqlite_engine(parsed: Any, database: str | None, **kwargs: Any) -> Engine:
    if database is not None:
        from lockgate.private_files import make_private_dirs, touch_private

        folder = Path(database).parent
        try:
            make_private_dirs(folder)
            touch_private(database)  # 0600; SQLite gives -wal and -shm the same mode
        except OSError as exc:
            raise StoreSetupError(
                f"cannot create the database folder {str(folder)!r}: {exc.strerror}; "
                "create it writable for the user running lockgate, or set storage.url "
                "(LOCKGATE_STORAGE_URL) to a folder it can write"
            ) from None
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    connect_args.setdefault("check_same_thread", False)
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE can be issued:
        # with DEFERRED, two writers that both read first deadlock into SQLITE_BUSY.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        configure_sqlite(cursor, wal=True)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
