"""The queue read by lanes: the statements a claim uses to find claimable runs.

A lane is one job's queued runs of one backfill (or of no backfill). Limits hold
whole lanes back (a full job or pool, a paused or throttled backfill), so a claim asks
each lane that may run for its head, in claim order (priority, then queue time), and
never walks past the runs of a held-back lane: a backlog of a million runs of one
limited job costs nothing to the three manual runs of another job queued behind it.

Every statement here is an index seek on ``ix_runs_claim``
(``status, job, backfill_id, priority DESC, queued_at, id``): the next lane is the
next index key after the previous one, a lane's head the first rows of its key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from lockgate.runs.sql import db_time, param, parse_db_time
from lockgate.statuses import BackfillStatus
from lockgate.store.connection import Connection

__all__ = ["HELD_STATUS", "QueuedRun", "any_claimable", "backfill_holds", "lane_head",
           "lane_statements", "lanes"]

# Runs of a backfill in this status are not claimable: they wait for its resume.
HELD_STATUS = BackfillStatus.PAUSED


@dataclass(frozen=True, kw_only=True)
class QueuedRun:
    id: int
    job: str
    pool: str | None
    backfill_id: int | None
    priority: int
    queued_at: dt.datetime

    @property
    def order(self) -> tuple[int, dt.datetime, int]:
        """Claim order: priority (high first), then queue time, then id."""
        return (-self.priority, self.queued_at, self.id)


def _sql(conn: Connection) -> dict[str, str]:
    m = param(conn)
    due = f"(not_before IS NULL OR not_before <= {m})"
    cols = "id, job, pool, backfill_id, priority, queued_at"
    order = "ORDER BY status, job, backfill_id, priority DESC, queued_at, id"
    return {
        "first_job": "SELECT job FROM runs WHERE status = 'queued' ORDER BY status, job LIMIT 1",
        "next_job": f"SELECT job FROM runs WHERE status = 'queued' AND job > {m} "
        "ORDER BY status, job LIMIT 1",
        "next_backfill": f"SELECT backfill_id FROM runs WHERE status = 'queued' AND job = {m} "
        f"AND backfill_id > {m} ORDER BY status, job, backfill_id LIMIT 1",
        "head_plain": f"SELECT {cols} FROM runs WHERE status = 'queued' AND job = {m} "
        f"AND backfill_id IS NULL AND {due} {order} LIMIT {m}",
        "head_backfill": f"SELECT {cols} FROM runs WHERE status = 'queued' AND job = {m} "
        f"AND backfill_id = {m} AND {due} {order} LIMIT {m}",
    }


def lane_statements(conn: Connection) -> dict[str, str]:
    """The statements by name, as the driver receives them (tests read their plans)."""
    return _sql(conn)


def lanes(
    conn: Connection, *, skip_jobs: frozenset[str] = frozenset()
) -> Iterator[tuple[str, int | None]]:
    """Every (job, backfill id or None) with queued runs, except jobs in ``skip_jobs``
    (whose backfills are not even looked up). One index seek per lane."""
    sql = _sql(conn)
    row = conn.exec_driver_sql(sql["first_job"]).first()
    while row is not None:
        job = row[0]
        if job not in skip_jobs:
            yield job, None
            after = -1
            while True:
                found = conn.exec_driver_sql(sql["next_backfill"], (job, after)).first()
                if found is None:
                    break
                after = found[0]
                yield job, after
        row = conn.exec_driver_sql(sql["next_job"], (job,)).first()


def lane_head(
    conn: Connection, job: str, backfill_id: int | None, *, now: dt.datetime, limit: int, lock: bool
) -> list[QueuedRun]:
    """The first ``limit`` runs of a lane that are due at ``now``, in claim order;
    with ``lock`` (PostgreSQL), locked ``FOR UPDATE SKIP LOCKED``."""
    sql = _sql(conn)
    when = db_time(conn, now)
    args: tuple[object, ...]
    if backfill_id is None:
        text, args = sql["head_plain"], (job, when, limit)
    else:
        text, args = sql["head_backfill"], (job, backfill_id, when, limit)
    if lock:
        text += " FOR UPDATE SKIP LOCKED"
    return [
        QueuedRun(
            id=r[0],
            job=r[1],
            pool=r[2],
            backfill_id=r[3],
            priority=r[4],
            queued_at=parse_db_time(r[5]) or dt.datetime.min.replace(tzinfo=dt.UTC),
        )
        for r in conn.exec_driver_sql(text, args)
    ]


def backfill_holds(conn: Connection) -> tuple[frozenset[int], dict[int, int]]:
    """The backfills whose runs are not claimable (held), and the running backfills'
    ``max_concurrent`` limits by id."""
    m = param(conn)
    held: set[int] = set()
    limits: dict[int, int] = {}
    for backfill_id, status, max_concurrent in conn.exec_driver_sql(
        f"SELECT id, status, max_concurrent FROM backfills WHERE status = {m} "
        "OR (status = 'running' AND max_concurrent IS NOT NULL)", (HELD_STATUS,)
    ):
        if status == HELD_STATUS:
            held.add(backfill_id)
        else:
            limits[backfill_id] = max_concurrent
    return frozenset(held), limits


def any_claimable(conn: Connection) -> bool:
    """Whether some queued run could ever be claimed: one outside a held backfill, due
    or not."""
    m = param(conn)
    return conn.exec_driver_sql(
        "SELECT 1 FROM runs WHERE status = 'queued' AND (backfill_id IS NULL "
        f"OR backfill_id NOT IN (SELECT id FROM backfills WHERE status = {m})) LIMIT 1",
        (HELD_STATUS,)).first() is not None
