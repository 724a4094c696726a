"""The ``backfills`` table and the runs each backfill launched.

Driver SQL only, so these also run on a plain driver connection
(:mod:`lockgate.store.direct`) for a fast CLI.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from lockgate.runs.sql import db_time, param

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["create", "open_progress", "set_run_count"]


def create(conn: Connection, *, asset: str, selection: str, chunk: int | None,
           max_concurrent: int | None, priority: int, partition_count: int, run_count: int,
           now: dt.datetime) -> int:
    """Record a running backfill (``selection`` as JSON text); its id."""
    m = param(conn)
    return int(conn.exec_driver_sql(
        "INSERT INTO backfills (asset, status, selection, chunk, max_concurrent, priority, "
        "partition_count, run_count, created_at, updated_at) VALUES "
        f"({m}, 'running', {m}, {m}, {m}, {m}, {m}, {m}, {m}, {m}) RETURNING id",
        (asset, selection, chunk, max_concurrent, priority, partition_count, run_count,
         db_time(conn, now), db_time(conn, now))).scalar_one())


def set_run_count(conn: Connection, backfill_id: int, run_count: int) -> None:
    m = param(conn)
    conn.exec_driver_sql(f"UPDATE backfills SET run_count = {m} WHERE id = {m}",
                         (run_count, backfill_id))


def open_progress(conn: Connection) -> dict[int, tuple[int, int]]:
    """Each running or paused backfill with runs: (its runs, how many have finished)."""
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in conn.exec_driver_sql(
        "SELECT b.id, COUNT(r.id), SUM(CASE WHEN r.status IN "
        "('succeeded', 'failed', 'canceled') THEN 1 ELSE 0 END) "
        "FROM backfills b JOIN runs r ON r.backfill_id = b.id "
        "WHERE b.status IN ('running', 'paused') GROUP BY b.id")}
