"""Connections straight through the driver, for commands that must start fast.

Importing SQLAlchemy costs a quarter of a second, a good part of what some commands are
allowed in all (``lockgate partitions`` on 87,672 partitions answers in half a second,
``lockgate backfill launch`` queues them in two). Their statements already speak the
driver's SQL (``exec_driver_sql``), so this adapter offers that one method on a plain
sqlite3 or psycopg connection, read-only or in a write transaction that begins the way
the Store's do (IMMEDIATE on SQLite). When the database is not at the expected schema
revision, or is not there, these return None and the caller uses the full
:class:`Store`, which says what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["RawConnection", "read_connection", "write_connection"]


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
    """The part of SQLAlchemy's Connection that lockgate's read paths use."""

    def __init__(self, dbapi: Any, dialect: str) -> None:
        self._dbapi = dbapi
        self.dialect = _Dialect(dialect)

    def exec_driver_sql(self, sql: str, params: Any = ()) -> _Result:
        """Run ``sql``; a list of tuples runs it once per tuple (executemany)."""
        cursor = self._dbapi.cursor()
        try:
            if isinstance(params, list):
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, tuple(params))
            rows = cursor.fetchall() if cursor.description else []
            return _Result(rows, cursor.rowcount)
        finally:
            cursor.close()


@contextmanager
def read_connection(url: str, *, expect_revision: str) -> Iterator[RawConnection | None]:
    """A read-only driver connection to ``url``, or None when this fast path does not
    apply (another backend, a missing database, a schema not at ``expect_revision``):
    the caller then goes through the full Store, which explains what is wrong."""
    conn = _connect(url)
    if conn is None:
        yield None
        return
    try:
        raw = RawConnection(conn[0], conn[1])
        try:
            revision = raw.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        except Exception:  # no schema yet, or unreadable: let the full path explain
            revision = None
        yield raw if revision == expect_revision else None
    finally:
        conn[0].close()


@contextmanager
def write_connection(url: str, *, expect_revision: str) -> Iterator[RawConnection | None]:
    """A write transaction on ``url``, committed when the block ends (rolled back on an
    exception), or None when the fast path does not apply (see :func:`read_connection`).
    """
    conn = _connect(url, write=True)
    if conn is None:
        yield None
        return
    dbapi, dialect = conn
    raw = RawConnection(dbapi, dialect)
    try:
        if dialect == "sqlite":
            raw.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            revision = raw.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        except Exception:
            revision = None
        if revision != expect_revision:
            _end(raw, commit=False)
            yield None
            return
        try:
            yield raw
        except BaseException:
            _end(raw, commit=False)
            raise
        _end(raw, commit=True)
    finally:
        dbapi.close()


def _end(raw: RawConnection, *, commit: bool) -> None:
    if raw.dialect.name == "sqlite":  # sqlite3 in autocommit mode: the SQL statements
        raw.exec_driver_sql("COMMIT" if commit else "ROLLBACK")
    elif commit:
        raw._dbapi.commit()
    else:
        raw._dbapi.rollback()


def _connect(url: str, *, write: bool = False) -> tuple[Any, str] | None:
    if url.startswith("sqlite:///"):
        import os
        import sqlite3

        path = url[len("sqlite:///"):]
        if not path or path.startswith(":memory:") or not os.path.exists(path):
            return None
        from urllib.parse import quote

        mode = "rw" if write else "ro"
        try:
            conn = sqlite3.connect(f"file:{quote(path)}?mode={mode}", uri=True, timeout=30,
                                   isolation_level=None)
            # The Store's settings (engine.py): the database is in WAL mode already.
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error:
            return None
        return conn, "sqlite"
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            try:
                import psycopg
            except ImportError:
                return None
            try:
                pg = psycopg.connect("postgresql://" + url[len(prefix):], autocommit=False)
            except psycopg.Error:
                return None
            pg.read_only = not write
            return pg, "postgresql"
    return None
