"""The ``ticks`` and ``trigger_state`` tables: what each evaluation decided, and each
schedule's and sensor's state between evaluations.

The rules (a missing state row is first seen now, a repeated skip is counted on the
newest row, messages are redacted) live in ``daemon/ticks.py``; these are the
statements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from lockgate.runs.sql import db_time, param, parse_db_time

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["NewestTick", "count_repeat", "create_state", "has_state", "insert_ticks",
           "newest_tick", "newest_ticks", "state_row", "update_state"]

# "trigger" and "cursor" are keywords: quoted, they are plain names on both databases.
_STATE_COLUMNS = ("trigger_kind", '"trigger"', '"cursor"', "paused", "first_seen_at",
                  "resumed_at", "last_tick_at", "last_scheduled_for", "failures",
                  "next_eval_at")
_STATE_TIMES = frozenset({"first_seen_at", "resumed_at", "last_tick_at",
                          "last_scheduled_for", "next_eval_at"})
_TICK_COLUMNS = ("id", "trigger_kind", '"trigger"', "scheduled_for", "started_at",
                 "finished_at", "status", "run_ids", "run_count", "skip_reason", "error",
                 '"cursor"', "fencing_token", "repeats", "first_started_at")
_TICK_TIMES = frozenset({"scheduled_for", "started_at", "finished_at", "first_started_at"})


def _names(columns: Sequence[str]) -> tuple[str, ...]:
    return tuple(c.strip('"') for c in columns)


def _by_column(names: Sequence[str], row: Sequence[Any], times: frozenset[str]
               ) -> dict[str, Any]:
    out = dict(zip(names, row, strict=True))
    for column in times:
        out[column] = parse_db_time(out[column])
    return out


def _quoted(column: str) -> str:
    return f'"{column}"' if column in ("trigger", "cursor") else column


def _state_where(conn: Connection) -> str:
    m = param(conn)
    return f'WHERE trigger_kind = {m} AND "trigger" = {m}'


def state_row(conn: Connection, kind: str, name: str) -> dict[str, Any] | None:
    """The trigger's state row by column (times aware UTC, ``paused`` a bool), or None
    when it has none."""
    row = conn.exec_driver_sql(
        f"SELECT {', '.join(_STATE_COLUMNS)} FROM trigger_state {_state_where(conn)}",
        (kind, name)).first()
    if row is None:
        return None
    out = _by_column(_names(_STATE_COLUMNS), row, _STATE_TIMES)
    out["paused"] = bool(out["paused"])
    return out


def has_state(conn: Connection, kind: str, name: str) -> bool:
    """Whether the trigger has a state row (it ticked, or the CLI touched it)."""
    return conn.exec_driver_sql(
        f'SELECT "trigger" FROM trigger_state {_state_where(conn)}', (kind, name)
    ).first() is not None


def create_state(conn: Connection, kind: str, name: str, first_seen_at: dt.datetime
                 ) -> dict[str, Any]:
    """Write a fresh state row (active, no failures) unless one exists; the row."""
    m = param(conn)
    conn.exec_driver_sql(
        'INSERT INTO trigger_state (trigger_kind, "trigger", paused, first_seen_at, failures) '
        f"VALUES ({m}, {m}, {m}, {m}, 0) ON CONFLICT DO NOTHING",
        (kind, name, False, db_time(conn, first_seen_at)))
    row = state_row(conn, kind, name)
    if row is None:
        raise LookupError(f"no state row for {kind} {name!r} after creating it")
    return row


def update_state(conn: Connection, kind: str, name: str, **values: Any) -> None:
    """Set the columns ``values`` of the trigger's state row."""
    if not values:
        return
    known = _names(_STATE_COLUMNS)
    m = param(conn)
    sets, bound = [], []
    for column, value in values.items():
        if column not in known:
            raise ValueError(f"trigger_state has no column {column!r}")
        sets.append(f"{_quoted(column)} = {m}")
        bound.append(db_time(conn, value) if column in _STATE_TIMES else value)
    conn.exec_driver_sql(
        f"UPDATE trigger_state SET {', '.join(sets)} {_state_where(conn)}",
        (*bound, kind, name))


def insert_ticks(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert tick rows (each with the same columns), keeping a schedule tick already
    recorded for its instant. Count."""
    if not rows:
        return 0
    columns = list(rows[0])
    known = _names(_TICK_COLUMNS)
    for column in columns:
        if column not in known:
            raise ValueError(f"ticks has no column {column!r}")
    m = param(conn)
    values = [tuple(db_time(conn, row[c]) if c in _TICK_TIMES else _plain(row[c])
                    for c in columns) for row in rows]
    result = conn.exec_driver_sql(
        f"INSERT INTO ticks ({', '.join(_quoted(c) for c in columns)}) "
        f"VALUES ({', '.join(m for _ in columns)}) ON CONFLICT DO NOTHING", values)
    return max(result.rowcount, 0)


def _plain(value: Any) -> Any:
    """A str subclass (a status enum) as its plain text."""
    return str(value) if isinstance(value, str) else value


class NewestTick(NamedTuple):
    id: int
    status: str
    skip_reason: str | None
    cursor: str | None
    error: str | None
    run_count: int
    started_at: dt.datetime | None
    first_started_at: dt.datetime | None


def newest_tick(conn: Connection, kind: str, name: str) -> NewestTick | None:
    """The trigger's newest tick: id, status, skip_reason, cursor, error, run_count,
    started_at and first_started_at."""
    m = param(conn)
    row = conn.exec_driver_sql(
        'SELECT id, status, skip_reason, "cursor", error, run_count, started_at, '
        f'first_started_at FROM ticks WHERE trigger_kind = {m} AND "trigger" = {m} '
        "ORDER BY id DESC LIMIT 1", (kind, name)).first()
    if row is None:
        return None
    return NewestTick(int(row[0]), row[1], row[2], row[3], row[4], int(row[5]),
                      parse_db_time(row[6]), parse_db_time(row[7]))


def count_repeat(conn: Connection, tick_id: int, *, first_started_at: dt.datetime,
                 started_at: dt.datetime, finished_at: dt.datetime,
                 fencing_token: int | None) -> None:
    """Count one more evaluation on tick ``tick_id``, which now describes the latest."""
    m = param(conn)
    conn.exec_driver_sql(
        f"UPDATE ticks SET repeats = repeats + 1, first_started_at = {m}, started_at = {m}, "
        f"finished_at = {m}, fencing_token = {m} WHERE id = {m}",
        (db_time(conn, first_started_at), db_time(conn, started_at),
         db_time(conn, finished_at), fencing_token, tick_id))


def newest_ticks(conn: Connection, name: str, *, kind: str | None, limit: int
                 ) -> list[dict[str, Any]]:
    """The newest ``limit`` tick rows of trigger ``name``, newest first, by column."""
    m = param(conn)
    statement = f'SELECT {", ".join(_TICK_COLUMNS)} FROM ticks WHERE "trigger" = {m}'
    values: tuple[str, ...] = (name,)
    if kind is not None:
        statement += f" AND trigger_kind = {m}"
        values += (kind,)
    rows = conn.exec_driver_sql(f"{statement} ORDER BY id DESC LIMIT {int(limit)}", values)
    return [_by_column(_names(_TICK_COLUMNS), row, _TICK_TIMES) for row in rows]
