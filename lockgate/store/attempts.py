"""Reading finished attempts: what the run-duration metric observes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from lockgate.store.tables import run_attempts, runs

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
    rows = conn.execute(
        select(
            run_attempts.c.run_id,
            run_attempts.c.attempt,
            runs.c.target,
            run_attempts.c.started_at,
            run_attempts.c.finished_at,
        )
        .join(runs, runs.c.id == run_attempts.c.run_id)
        .where(run_attempts.c.run_id.in_(sorted({run_id for run_id, _ in wanted})))
    )
    return [
        AttemptTiming(run_id=r[0], attempt=r[1], target=r[2], started_at=r[3], finished_at=r[4])
        for r in rows
        if (r[0], r[1]) in wanted
    ]
