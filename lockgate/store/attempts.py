"""Reading finished attempts: what the run-duration metric observes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lockgate.runs.sql import parse_db_time

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["AttemptTiming", "attempt_timings"]


@dataclass(frozen=True, kw_only=True)
class AttemptTiming:
    run_id: int
    attempt: int
    target: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def attempt_timings(conn: Connection, keys: Iterable[tuple[int, int]]) -> list[AttemptTiming]:
    """The target and start and end times of the attempts ``(run_id, attempt)``."""
    wanted = set(keys)
    if not wanted:
        return []
    ids = ", ".join(str(int(i)) for i in sorted({run_id for run_id, _ in wanted}))
    rows = conn.exec_driver_sql(
        "SELECT a.run_id, a.attempt, r.target, a.started_at, a.finished_at "
        f"FROM run_attempts a JOIN runs r ON r.id = a.run_id WHERE a.run_id IN ({ids})")
    return [
        AttemptTiming(run_id=r[0], attempt=r[1], target=r[2], started_at=parse_db_time(r[3]),
                      finished_at=parse_db_time(r[4]))
        for r in rows
        if (r[0], r[1]) in wanted
    ]
