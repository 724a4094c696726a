"""A read-only connection straight through the driver, for commands that must start fast.

Importing SQLAlchemy costs about a fifth of a second, more than some whole commands
are allowed (``lockgate partitions`` on 87,672 partitions answers in half a second).
Their read paths already speak the driver's SQL (``exec_driver_sql``), so this adapter
offers that one method on a plain sqlite3 or psycopg connection. Anything that needs
more (the schema check's messages, writes) uses the full :class:`Store`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["RawConnection", "read_connection"]


class _Dialect:
    def __init__(self, name: str) -> None:
        self.name = name


class _Result:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

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

    def exec_driver_sql(self, sql: str, params: Sequence[Any] = ()) -> _Result:
        cursor = self._dbapi.cursor()
        try:
            cursor.execute(sql, tuple(params))
            return _Result(cursor.fetchall() if cursor.description else [])
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


def _connect(url: str) -> tuple[Any, str] | None:
    if url.startswith("sqlite:///"):
        import os
        import sqlite3

        path = url[len("sqlite:///"):]
        if not path or path.startswith(":memory:") or not os.path.exists(path):
            return None
        from urllib.parse import quote

        try:
            conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=30)
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
            pg.read_only = True
            return pg, "postgresql"
    return None
