"""The database drivers themselves: URLs, SQLite's settings, and a raw connection.

Importing SQLAlchemy costs a quarter of a second, a good part of what some commands are
allowed in all (``lockgate partitions`` on 87,672 partitions answers in half a second,
``lockgate backfill launch`` queues them in two). Store statements are driver SQL, so
:class:`RawConnection` offers ``exec_driver_sql`` on a plain sqlite3 or psycopg
connection; :mod:`lockgate.store.opener` decides when to use one. The engine
(:mod:`lockgate.store.engine`) takes its URL rules and SQLite settings from here, so
both paths open a database the same way. Nothing here imports SQLAlchemy.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote

__all__ = ["PG_CONNECT_TIMEOUT_S", "SQLITE_BUSY_TIMEOUT_MS", "RawConnection",
           "configure_sqlite", "connect", "normalize_url", "postgres_conninfo", "sqlite_file",
           "sqlite_file_missing", "sqlite_path"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Seconds a PostgreSQL connection may take to open unless the URL says
# `?connect_timeout=N`: a server that does not answer fails a command in seconds, not
# after the minutes of the system's TCP retries.
PG_CONNECT_TIMEOUT_S = 10
WAL_RETRY_MS = 10
_PG_PREFIXES = ("postgresql+psycopg://", "postgresql://", "postgres://")


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3; others stay as written."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def sqlite_file(url: str) -> str | None:
    """The file a SQLite URL names, as the engine reads it: the percent-decoded path
    after ``sqlite:///`` (or ``sqlite+DRIVER:///``) without its ``?query``; None for
    other URLs, in-memory databases and ``file:`` URIs."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] != "sqlite":
        return None
    path = unquote(rest.partition("/")[2].partition("?")[0])
    if not path or path.startswith((":memory:", "file:")):
        return None
    return path


def sqlite_path(url: str) -> str | None:
    """The file of a plain ``sqlite:///PATH`` URL, which the raw driver opens; None for
    other URLs, in-memory databases, ``file:`` URIs and URLs with a query (the engine
    handles those)."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    return sqlite_file(url)


def sqlite_file_missing(url: str) -> bool:
    """True when ``url`` names a SQLite file that does not exist (yet).

    Opening such a URL would create the file and its folder; commands that only read
    ask first, so that looking at a project leaves nothing behind.
    """
    path = sqlite_file(normalize_url(url))
    return path is not None and not os.path.exists(path)


def postgres_conninfo(url: str) -> str | None:
    """A psycopg connection string for a PostgreSQL URL; None for other URLs."""
    for prefix in _PG_PREFIXES:
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return None


def configure_sqlite(conn: Any, *, wal: bool) -> None:
    """lockgate's settings for a new sqlite3 connection (or cursor): wait for locks,
    foreign keys on, NORMAL sync; ``wal`` switches the file to WAL mode (once per file:
    it persists, and the raw path only opens files the engine made) after asking for
    incremental auto-vacuum, which only a file without tables takes (retention returns
    its free pages; an older file keeps its mode until ``lockgate db prune --vacuum``)."""
    conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    if wal:
        # Setting the mode writes to the file (and fails on a full disk) even where it
        # cannot change it: ask only while the file has no table yet.
        if not conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall():
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        _enable_wal(conn)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")


def _enable_wal(cursor: Any) -> None:
    """Switch to WAL; a no-op when the file is in WAL already (it persists).

    Switching needs an exclusive lock, and SQLite answers "database is locked" at once,
    without its busy handler, when another connection holds the file, as happens when
    several processes open a new database together. So wait and retry here.
    """
    import time

    for _ in range(SQLITE_BUSY_TIMEOUT_MS // WAL_RETRY_MS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        time.sleep(WAL_RETRY_MS / 1000)
    cursor.execute("PRAGMA journal_mode=WAL")  # the last try raises if still locked


class _Dialect:
    def __init__(self, name: str) -> None:
        self.name = name


class _Result:
    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int = -1) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise LookupError(f"expected one row, got {len(self._rows)}")
        return self._rows[0][0]

    def all(self) -> list[tuple[Any, ...]]:
        return self._rows

    def first(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._rows)


class RawConnection:
    """A driver connection offering the :class:`lockgate.store.connection.Connection`
    interface. Errors are the driver's; :mod:`lockgate.store.opener` translates them."""

    def __init__(self, dbapi: Any, dialect: str) -> None:
        self.dbapi = dbapi
        self.dialect = _Dialect(dialect)

    def exec_driver_sql(self, statement: str, parameters: Any = (), /) -> _Result:
        """Run ``statement``; a list of tuples runs it once per tuple (executemany)."""
        cursor = self.dbapi.cursor()
        try:
            if isinstance(parameters, list):
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, tuple(parameters))
            rows = cursor.fetchall() if cursor.description else []
            return _Result(rows, cursor.rowcount)
        finally:
            cursor.close()

    def end(self, *, commit: bool) -> None:
        """Commit or roll back the transaction the opener began."""
        if self.dialect.name == "sqlite":  # sqlite3 in autocommit mode: SQL statements
            self.exec_driver_sql("COMMIT" if commit else "ROLLBACK")
        elif commit:
            self.dbapi.commit()
        else:
            self.dbapi.rollback()

    def close(self) -> None:
        self.dbapi.close()


def connect(url: str, *, write: bool) -> RawConnection | None:
    """A driver connection to an existing database at ``url``, read-only unless
    ``write``; None when there is none to open this way (another URL form, no file,
    no psycopg, a refused connection: the engine-backed Store explains those)."""
    path = sqlite_path(url)
    if path is not None:
        if not os.path.exists(path):
            return None
        mode = "rw" if write else "ro"
        try:
            conn = sqlite3.connect(f"file:{quote(path)}?mode={mode}", uri=True,
                                   timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            configure_sqlite(conn, wal=False)  # the engine made the file: WAL already
        except sqlite3.Error:
            return None
        return RawConnection(conn, "sqlite")
    conninfo = postgres_conninfo(url)
    if conninfo is None:
        return None
    try:
        import psycopg
    except ImportError:
        return None
    try:
        if "connect_timeout=" not in conninfo:
            sep = "&" if "?" in conninfo else "?"
            conninfo += f"{sep}connect_timeout={PG_CONNECT_TIMEOUT_S}"
        pg = psycopg.connect(conninfo, autocommit=False)
    except psycopg.Error:
        return None
    pg.read_only = not write
    return RawConnection(pg, "postgresql")
