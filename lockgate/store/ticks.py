"""The ``ticks`` and ``trigger_state`` tables: what each evaluation decided, and each
schedule's and sensor's state between evaluations.

The rules (a missing state row is first seen now, a repeated skip is counted on the
newest row, messages are redacted) live in ``daemon/ticks.py``; these are the
statements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, RowMapping, select, update
from sqlalchemy.dialects import postgresql, sqlite

from lockgate.store.tables import ticks, trigger_state

__all__ = ["count_repeat", "create_state", "has_state", "insert_ticks", "newest_tick",
           "newest_ticks", "state_row", "update_state"]


def _insert(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)


def state_row(conn: Connection, kind: str, name: str) -> RowMapping | None:
    """The trigger's state row by column, or None when it has none."""
    row = conn.execute(select(trigger_state).where(
        trigger_state.c.trigger_kind == kind, trigger_state.c.trigger == name)).first()
    return None if row is None else row._mapping


def has_state(conn: Connection, kind: str, name: str) -> bool:
    """Whether the trigger has a state row (it ticked, or the CLI touched it)."""
    return conn.execute(select(trigger_state.c.trigger).where(
        trigger_state.c.trigger_kind == kind, trigger_state.c.trigger == name)
    ).first() is not None


def create_state(conn: Connection, kind: str, name: str, first_seen_at: dt.datetime
                 ) -> RowMapping:
    """Write a fresh state row (active, no failures) unless one exists; the row."""
    conn.execute(_insert(conn)(trigger_state).values(
        trigger_kind=kind, trigger=name, paused=False, first_seen_at=first_seen_at, failures=0,
    ).on_conflict_do_nothing())
    return conn.execute(select(trigger_state).where(
        trigger_state.c.trigger_kind == kind, trigger_state.c.trigger == name)).one()._mapping


def update_state(conn: Connection, kind: str, name: str, **values: Any) -> None:
    conn.execute(update(trigger_state).where(
        trigger_state.c.trigger_kind == kind, trigger_state.c.trigger == name).values(**values))


def insert_ticks(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert tick rows, keeping a schedule tick already recorded for its instant. Count."""
    result = conn.execute(_insert(conn)(ticks).on_conflict_do_nothing(), list(rows))
    return max(result.rowcount, 0)


def newest_tick(conn: Connection, kind: str, name: str
                ) -> Row[*tuple[Any, ...]] | None:
    """The trigger's newest tick: id, status, skip_reason, cursor, error, run_count,
    started_at and first_started_at."""
    return conn.execute(
        select(ticks.c.id, ticks.c.status, ticks.c.skip_reason, ticks.c.cursor,
               ticks.c.error, ticks.c.run_count, ticks.c.started_at,
               ticks.c.first_started_at)
        .where(ticks.c.trigger_kind == kind, ticks.c.trigger == name)
        .order_by(ticks.c.id.desc()).limit(1)).first()


def count_repeat(conn: Connection, tick_id: int, *, first_started_at: dt.datetime,
                 started_at: dt.datetime, finished_at: dt.datetime,
                 fencing_token: int | None) -> None:
    """Count one more evaluation on tick ``tick_id``, which now describes the latest."""
    conn.execute(update(ticks).where(ticks.c.id == tick_id).values(
        repeats=ticks.c.repeats + 1, first_started_at=first_started_at,
        started_at=started_at, finished_at=finished_at, fencing_token=fencing_token))


def newest_ticks(conn: Connection, name: str, *, kind: str | None, limit: int
                 ) -> list[dict[str, Any]]:
    """The newest ``limit`` tick rows of trigger ``name``, newest first, by column."""
    query = select(ticks).where(ticks.c.trigger == name)
    if kind is not None:
        query = query.where(ticks.c.trigger_kind == kind)
    rows = conn.execute(query.order_by(ticks.c.id.desc()).limit(limit)).all()
    return [dict(row._mapping) for row in rows]
