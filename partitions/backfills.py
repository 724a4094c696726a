"""The backfill state machine, kept in the store.

::

    running ──pause──> paused ──resume──> running
    running/paused ──cancel──> canceled
    running ──last run final──> completed (every run succeeded) | failed
    failed/canceled/completed ──retry──> running (failed and canceled runs re-queued)

Launching (:mod:`lockgate.partitions.backfill_launch`) records the backfill and queues
all its runs in one transaction, with run keys under the origin ``backfill:ID``: a
crash leaves either nothing or everything, and a run never exists twice for one
partition. Paused backfills' runs are skipped by
the claim. Completion is noticed by the worker's finish hook when the last run of a
backfill ends, and downstream runs (``waiting``) are released there when all their
upstream runs have succeeded.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from lockgate.errors import ConflictError, NotFoundError
from lockgate.runs.queue import ACTIVE_STATUSES, AttemptResult
from lockgate.runs.sql import db_time, param
from lockgate.statuses import OPEN_RUN_STATUSES, BackfillStatus, RunStatus
from lockgate.store.tables import backfills, runs

__all__ = [
    "backfill_hook",
    "backfill_status",
    "cancel_backfill",
    "list_backfills",
    "pause_backfill",
    "resume_backfill",
    "retry_backfill",
]

OPEN = OPEN_RUN_STATUSES
_CHUNK = 500


def _get(conn: Connection, backfill_id: int) -> Any:
    row = conn.execute(select(backfills).where(backfills.c.id == backfill_id)).first()
    if row is None:
        raise NotFoundError(f"no backfill with id {backfill_id}; see `lockgate backfill list`")
    return row


def _counts(conn: Connection, backfill_id: int) -> dict[str, int]:
    mark = param(conn)
    return dict(conn.exec_driver_sql(
        f"SELECT status, COUNT(*) FROM runs WHERE backfill_id = {mark} GROUP BY status",
        (backfill_id,)).all())


def backfill_status(conn: Connection, backfill_id: int) -> dict[str, Any]:
    """The backfill's state, its selection and how many of its runs are in each status."""
    row = _get(conn, backfill_id)
    counts = _counts(conn, backfill_id)
    return _describe(row, counts)


def _describe(row: Any, counts: dict[str, int]) -> dict[str, Any]:
    m = row._mapping
    return {
        "id": m["id"], "backfill_id": m["id"], "asset": m["asset"], "status": m["status"],
        "partitions": m["partition_count"], "runs": m["run_count"],
        "counts": {s: counts.get(s, 0) for s in RunStatus},
        "max_concurrent": m["max_concurrent"], "priority": m["priority"],
        "created_at": m["created_at"], "updated_at": m["updated_at"],
        "finished_at": m["finished_at"],
        "plan": json.loads(m["selection"]),
    }


def list_backfills(conn: Connection, *, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(select(backfills).order_by(backfills.c.id.desc()).limit(limit)).all()
    if not rows:
        return []
    ids = [r._mapping["id"] for r in rows]
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    for backfill_id, status, n in conn.execute(
        select(runs.c.backfill_id, runs.c.status, _count()).where(runs.c.backfill_id.in_(ids))
        .group_by(runs.c.backfill_id, runs.c.status)
    ):
        counts[backfill_id][status] = n
    return [_describe(r, counts[r._mapping["id"]]) for r in rows]


def _count() -> Any:
    from sqlalchemy import func

    return func.count()


def _set_status(conn: Connection, backfill_id: int, status: str, now: dt.datetime,
                *, allowed: Sequence[str], finished: bool = False) -> None:
    row = _get(conn, backfill_id)
    current = row._mapping["status"]
    if current not in allowed:
        raise ConflictError(f"backfill {backfill_id} is {current}; it can be set {status} "
                            f"only when {' or '.join(allowed)}")
    conn.execute(update(backfills).where(backfills.c.id == backfill_id).values(
        status=status, updated_at=now, **({"finished_at": now} if finished else {})))


def pause_backfill(conn: Connection, backfill_id: int, *, now: dt.datetime) -> None:
    """Stop claiming the backfill's runs; running ones finish."""
    _set_status(conn, backfill_id, BackfillStatus.PAUSED, now,
                allowed=(BackfillStatus.RUNNING,))


def resume_backfill(conn: Connection, backfill_id: int, *, now: dt.datetime) -> None:
    _set_status(conn, backfill_id, BackfillStatus.RUNNING, now,
                allowed=(BackfillStatus.PAUSED,))


def cancel_backfill(conn: Connection, backfill_id: int, *, now: dt.datetime) -> dict[str, int]:
    """Cancel queued and waiting runs at once; ask workers to stop running ones."""
    _set_status(conn, backfill_id, BackfillStatus.CANCELED, now,
                allowed=(BackfillStatus.RUNNING, BackfillStatus.PAUSED))
    canceled = conn.execute(
        update(runs).where(runs.c.backfill_id == backfill_id,
                           runs.c.status.in_(("waiting", "queued")))
        .values(status="canceled", finished_at=now, error="backfill canceled")
    ).rowcount
    stopping = conn.execute(
        update(runs).where(runs.c.backfill_id == backfill_id,
                           runs.c.status.in_(ACTIVE_STATUSES))
        .values(cancel_requested=True)
    ).rowcount
    if not stopping:
        conn.execute(update(backfills).where(backfills.c.id == backfill_id)
                     .values(finished_at=now))
    return {"canceled": canceled, "stopping": stopping}


def retry_backfill(conn: Connection, backfill_id: int, *, now: dt.datetime) -> int:
    """Re-queue the failed and canceled runs (a new attempt each); returns how many."""
    _get(conn, backfill_id)
    retry = [r for (r,) in conn.execute(
        select(runs.c.id).where(runs.c.backfill_id == backfill_id,
                                runs.c.status.in_(("failed", "canceled"))))]
    if not retry:
        raise ConflictError(f"backfill {backfill_id} has no failed or canceled runs to retry")
    reset = {"attempt": runs.c.attempt + 1, "not_before": None, "error": None,
             "exit_code": None, "cancel_requested": False, "finished_at": None,
             "worker_id": None, "pid": None, "started_at": None, "queued_at": now}
    for start in range(0, len(retry), _CHUNK):
        chunk = retry[start:start + _CHUNK]
        conn.execute(update(runs).where(runs.c.id.in_(chunk)).values(status="queued", **reset))
    _rewait(conn, retry)
    conn.execute(update(backfills).where(backfills.c.id == backfill_id).values(
        status="running", updated_at=now, finished_at=None))
    return len(retry)


def _rewait(conn: Connection, run_ids: list[int]) -> None:
    """Runs among ``run_ids`` with an upstream run not succeeded go back to waiting."""
    for start in range(0, len(run_ids), _CHUNK):
        ids = ", ".join(str(int(i)) for i in run_ids[start:start + _CHUNK])
        conn.exec_driver_sql(
            f"UPDATE runs SET status = 'waiting' WHERE id IN ({ids}) AND status = 'queued' "
            "AND EXISTS (SELECT 1 FROM run_deps d JOIN runs u ON u.id = d.upstream_run_id "
            "WHERE d.run_id = runs.id AND u.status <> 'succeeded')")


def backfill_hook(conn: Connection, applied: Sequence[tuple[AttemptResult, bool]],
                  now: dt.datetime) -> None:
    """Worker finish hook: release or cancel dependents, then notice finished backfills."""
    finals = [(res.run_id, res.status) for res, final in applied if final]
    if not finals:
        return
    ids = [run_id for run_id, _ in finals]
    # Any run may have dependents: a backfill's runs wait for the open runs of other
    # origins that absorbed their upstream partitions, too.
    if not _have_dependents(conn, ids):
        touched = _backfills_of(conn, ids)
    else:
        succeeded = [run_id for run_id, status in finals if status == RunStatus.SUCCEEDED]
        failed = [run_id for run_id, status in finals if status != RunStatus.SUCCEEDED]
        if succeeded:
            _release(conn, succeeded)
        canceled = _cancel_dependents(conn, failed, now) if failed else []
        touched = _backfills_of(conn, ids + canceled)
    for backfill_id in touched:
        _maybe_finish(conn, backfill_id, now)


def _have_dependents(conn: Connection, run_ids: list[int]) -> bool:
    for start in range(0, len(run_ids), _CHUNK):
        ids = ", ".join(str(int(i)) for i in run_ids[start:start + _CHUNK])
        if conn.exec_driver_sql(
                f"SELECT 1 FROM run_deps WHERE upstream_run_id IN ({ids}) LIMIT 1").first():
            return True
    return False


def _backfills_of(conn: Connection, run_ids: list[int]) -> set[int]:
    out: set[int] = set()
    for start in range(0, len(run_ids), _CHUNK):
        ids = ", ".join(str(int(i)) for i in run_ids[start:start + _CHUNK])
        out.update(b for (b,) in conn.exec_driver_sql(
            f"SELECT DISTINCT backfill_id FROM runs WHERE id IN ({ids}) "
            "AND backfill_id IS NOT NULL"))
    return out


def _release(conn: Connection, upstream_ids: list[int]) -> None:
    for start in range(0, len(upstream_ids), _CHUNK):
        ids = ", ".join(str(int(i)) for i in upstream_ids[start:start + _CHUNK])
        conn.exec_driver_sql(
            "UPDATE runs SET status = 'queued' WHERE status = 'waiting' AND id IN "
            f"(SELECT run_id FROM run_deps WHERE upstream_run_id IN ({ids})) "
            "AND NOT EXISTS (SELECT 1 FROM run_deps d JOIN runs u ON u.id = d.upstream_run_id "
            "WHERE d.run_id = runs.id AND u.status <> 'succeeded')")


def _cancel_dependents(conn: Connection, failed_ids: list[int], now: dt.datetime
                       ) -> list[int]:
    """Cancel the waiting runs downstream of ``failed_ids`` (transitively); returns them."""
    frontier = list(failed_ids)
    canceled: list[int] = []
    mark = param(conn)
    while frontier:
        ids = ", ".join(str(int(i)) for i in frontier[:_CHUNK])
        frontier = frontier[_CHUNK:]
        dependents = [r for (r,) in conn.exec_driver_sql(
            f"SELECT DISTINCT d.run_id FROM run_deps d JOIN runs r ON r.id = d.run_id "
            f"WHERE d.upstream_run_id IN ({ids}) AND r.status = 'waiting'")]
        for run_id in dependents:
            conn.exec_driver_sql(
                f"UPDATE runs SET status = 'canceled', finished_at = {mark}, error = {mark} "
                f"WHERE id = {mark} AND status = 'waiting'",
                (_time(conn, now), "an upstream run of this backfill failed", run_id))
        frontier.extend(dependents)
        canceled.extend(dependents)
    return canceled


def _time(conn: Connection, now: dt.datetime) -> Any:

    return db_time(conn, now)


def _maybe_finish(conn: Connection, backfill_id: int, now: dt.datetime) -> None:
    counts = _counts(conn, backfill_id)
    if any(counts.get(s, 0) for s in OPEN):
        return
    row = _get(conn, backfill_id)
    status = row._mapping["status"]
    if status == BackfillStatus.CANCELED:
        conn.execute(update(backfills).where(backfills.c.id == backfill_id)
                     .values(finished_at=now, updated_at=now))
        return
    final = (BackfillStatus.COMPLETED if set(counts) <= {RunStatus.SUCCEEDED}
             else BackfillStatus.FAILED)
    conn.execute(update(backfills).where(backfills.c.id == backfill_id,
                                         backfills.c.status.in_(("running", "paused")))
                 .values(status=final, finished_at=now, updated_at=now))
