"""Small helpers for the bulk paths that talk to the driver directly."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["db_time", "dumps", "loads", "param", "parse_db_time", "sql_literal"]


def db_time(conn: Connection, value: dt.datetime | None) -> Any:
    """A UTC datetime as the driver should receive it (what UTCDateTime would bind)."""
    if value is None:
        return None
    if value.tzinfo is None:  # as UTCDateTime refuses it: a naive time has no instant
        raise ValueError(f"naive datetime {value.isoformat()} given to the store; "
                         "pass an aware one (lockgate.time.clock.now())")
    value = value.astimezone(dt.UTC)
    if conn.dialect.name == "sqlite":
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def parse_db_time(value: Any) -> dt.datetime | None:
    """What the driver returned for a time column, as an aware UTC datetime."""
    if value is None:
        return None
    when: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        return when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def sql_literal(conn: Connection, value: Any) -> str:
    """``value`` written into SQL: for the constant columns of bulk inserts, where binding
    the same value on every row costs more than the insert. Strings are quoted the
    standard way (quotes doubled), which both SQLite and PostgreSQL read literally."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if conn.dialect.name == "postgresql" \
            else str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        value = db_time(conn, value)
        if not isinstance(value, str):
            value = value.isoformat()
    if isinstance(value, str):
        if "\0" in value:
            raise ValueError("a NUL character cannot be stored")
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def param(conn: Connection) -> str:
    """The driver's positional placeholder: ``?`` for sqlite3, ``%s`` for psycopg."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def dumps(value: Any) -> str | None:
    """JSON text for a JSON column; empty mappings are stored as NULL."""
    if not value:
        return None
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def loads(text: str | None, default: Any = None) -> Any:
    if not text:
        return {} if default is None else default
    return json.loads(text)
