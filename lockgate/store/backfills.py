"""The ``backfills`` table and the runs each backfill launched."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["open_progress"]


def open_progress(conn: Connection) -> dict[int, tuple[int, int]]:
    """Each running or paused backfill with runs: (its runs, how many have finished)."""
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in conn.exec_driver_sql(
        "SELECT b.id, COUNT(r.id), SUM(CASE WHEN r.status IN "
        "('succeeded', 'failed', 'canceled') THEN 1 ELSE 0 END) "
        "FROM backfills b JOIN runs r ON r.backfill_id = b.id "
        "WHERE b.status IN ('running', 'paused') GROUP BY b.id")}
