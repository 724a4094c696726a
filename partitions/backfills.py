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
from typing import TYPE_CHECKING, Any

from lockgate.errors import ConflictError, NotFoundError
from lockgate.runs.queue import ACTIVE_STATUSES, AttemptResult
from lockgate.statuses import OPEN_RUN_STATUSES, BackfillStatus, RunStatus
from lockgate.store import backfills as store
from lockgate.store.backfills import BackfillRow

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

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


def _get(conn: Connection, backfill_id: int) -> BackfillRow:
    row = store.get(conn, backfill_id)
    if row is None:
        raise NotFoundError(f"no backfill with id {backfill_id}; see `lockgate backfill list`")
    return row


def _counts(conn: Connection, backfill_id: int) -> dict[str, int]:
    return store.run_counts(conn, [backfill_id])[backfill_id]


def backfill_status(conn: Connection, backfill_id: int) -> dict[str, Any]:
    """The backfill's state, its selection and how many of its runs are in each status."""
    row = _get(conn, backfill_id)
    counts = _counts(conn, backfill_id)
    return _describe(row, counts)


def _describe(row: BackfillRow, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": row.id, "backfill_id": row.id, "asset": row.asset, "status": row.status,
        "partitions": row.partition_count, "runs": row.run_count,
        "counts": {s: counts.get(s, 0) for s in
                   RunStatus},
        "max_concurrent": row.max_concurrent, "priority": row.priority,
        "created_at": row.created_at, "updated_at": row.updated_at,
        "finished_at": row.finished_at,
        "plan": json.loads(row.selection),
    }


def list_backfills(conn: Connection, *, limit: int = 50) -> list[dict[str, Any]]:
    rows = store.recent(conn, limit=limit)
    if not rows:
        return []
    counts = store.run_counts(conn, [r.id for r in rows])
    return [_describe(r, counts[r.id]) for r in rows]


def _set_status(conn: Connection, backfill_id: int, status: str, now: dt.datetime,
                *, allowed: Sequence[str], finished: bool = False) -> None:
    current = _get(conn, backfill_id).status
    if current not in allowed:
        raise ConflictError(f"backfill {backfill_id} is {current}; it can be set {status} "
                            f"only when {' or '.join(allowed)}")
    store.set_status(conn, backfill_id, status, now, finished=finished)


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
    canceled = store.cancel_open_runs(conn, backfill_id, now,
                                      statuses=(RunStatus.WAITING, RunStatus.QUEUED),
                                      error="backfill canceled")
    stopping = store.request_stop(conn, backfill_id, statuses=ACTIVE_STATUSES)
    if not stopping:
        store.set_finished(conn, backfill_id, now)
    return {"canceled": canceled, "stopping": stopping}


def retry_backfill(conn: Connection, backfill_id: int, *, now: dt.datetime) -> int:
    """Re-queue the failed and canceled runs (a new attempt each); returns how many."""
    _get(conn, backfill_id)
    retry = store.retryable_runs(conn, backfill_id, statuses=(RunStatus.FAILED, RunStatus.CANCELED))
    if not retry:
        raise ConflictError(f"backfill {backfill_id} has no failed or canceled runs to retry")
    store.requeue(conn, retry, now)
    store.reopen(conn, backfill_id, now)
    return len(retry)


def backfill_hook(conn: Connection, applied: Sequence[tuple[AttemptResult, bool]],
                  now: dt.datetime) -> None:
    """Worker finish hook: release or cancel dependents, then notice finished backfills."""
    finals = [(res.run_id, res.status) for res, final in applied if final]
    if not finals:
        return
    ids = [run_id for run_id, _ in finals]
    # Any run may have dependents: a backfill's runs wait for the open runs of other
    # origins that absorbed their upstream partitions, too.
    if not store.has_dependents(conn, ids):
        touched = store.backfills_of(conn, ids)
    else:
        succeeded = [run_id for run_id, status in finals if status == RunStatus.SUCCEEDED]
        failed = [run_id for run_id, status in finals if status != RunStatus.SUCCEEDED]
        if succeeded:
            store.release_dependents(conn, succeeded)
        canceled = _cancel_dependents(conn, failed, now) if failed else []
        touched = store.backfills_of(conn, ids + canceled)
    for backfill_id in touched:
        _maybe_finish(conn, backfill_id, now)


def _cancel_dependents(conn: Connection, failed_ids: list[int], now: dt.datetime
                       ) -> list[int]:
    """Cancel the waiting runs downstream of ``failed_ids`` (transitively); returns them."""
    frontier = list(failed_ids)
    canceled: list[int] = []
    while frontier:
        frontier = store.cancel_waiting_dependents(
            conn, frontier, now, error="an upstream run of this backfill failed")
        canceled.extend(frontier)
    return canceled


def _maybe_finish(conn: Connection, backfill_id: int, now: dt.datetime) -> None:
    counts = _counts(conn, backfill_id)
    if any(counts.get(s, 0) for s in OPEN):
        return
    if _get(conn, backfill_id).status == BackfillStatus.CANCELED:
        store.set_finished(conn, backfill_id, now, touch=True)
        return
    final = (BackfillStatus.COMPLETED if set(counts) <= {RunStatus.SUCCEEDED}
             else BackfillStatus.FAILED)
    store.finish(conn, backfill_id, final, now,
                 from_statuses=(BackfillStatus.RUNNING, BackfillStatus.PAUSED))
