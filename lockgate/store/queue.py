"""The statements of the queue: claiming runs, their attempts, heartbeats, cancels.

The rules (claim order and limits, retries and their backoff, what a cancel does in
each status) live in ``lockgate.runs.queue``; every update here is conditional on the
status it expects, so a statement replayed or raced changes nothing twice. Statements
on the worker's hot path are built once: building one costs more than running it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from lockgate.statuses import ACTIVE_RUN_STATUSES, RunStatus
from lockgate.store.tables import run_attempts, runs

__all__ = ["ACTIVE_STATUSES", "active_rows", "cancel_queued", "finish", "flag_cancel",
           "heartbeat", "lock_claimers", "mark_running", "running_counts", "start"]

ACTIVE_STATUSES = ACTIVE_RUN_STATUSES
_CLAIM_LOCK = 0x6C6F636B  # "lock": the advisory lock id claimers share on PostgreSQL


def lock_claimers(conn: Connection) -> None:
    """On PostgreSQL, wait for the claim lock (held to the end of the transaction), so
    limits hold across daemons; on SQLite the IMMEDIATE transaction is the lock."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_CLAIM_LOCK,))


def running_counts(conn: Connection) -> list[tuple[str, str | None, int | None, int]]:
    """(job, pool, backfill id, how many) of the runs starting or running."""
    return [(r[0], r[1], r[2], int(r[3])) for r in conn.exec_driver_sql(
        "SELECT job, pool, backfill_id, COUNT(*) FROM runs "
        "WHERE status IN ('starting', 'running') GROUP BY job, pool, backfill_id")]


def start(conn: Connection, run_ids: Sequence[int], *, worker_id: str, now: dt.datetime
          ) -> list[Any]:
    """Move the runs among ``run_ids`` still queued to ``starting`` for ``worker_id`` and
    open their attempts; their rows after the change."""
    rows = conn.execute(
        # coalesce() keeps SQLite on the primary key: on `status = 'queued'` it would
        # pick the claim index and walk every queued run to find these few.
        update(runs)
        .where(runs.c.id.in_(list(run_ids)), func.coalesce(runs.c.status, "") == RunStatus.QUEUED)
        .values(status=RunStatus.STARTING, worker_id=worker_id, started_at=now, heartbeat_at=now,
                finished_at=None, pid=None, exit_code=None, error=None, not_before=None)
        .returning(*runs.c)
    ).all()
    if rows:
        conn.execute(run_attempts.insert(), [
            {"run_id": r.id, "attempt": r.attempt, "worker_id": worker_id, "started_at": now,
             "status": RunStatus.STARTING} for r in rows
        ])
    return list(rows)


def mark_running(conn: Connection, params: Mapping[str, object]) -> bool:
    """Record the child's pid (``rid``, ``att``, ``pid``, ``log``); False if the run was no
    longer ``starting`` in that attempt."""
    result = conn.execute(_MARK_RUN, params)
    conn.execute(_MARK_ATTEMPT, params)
    return result.rowcount == 1


_MARK_RUN = (
    update(runs)
    .where(runs.c.id == bindparam("rid"), runs.c.attempt == bindparam("att"),
           runs.c.status == RunStatus.STARTING)
    .values(status=RunStatus.RUNNING, pid=bindparam("pid"), log_path=bindparam("log"))
)
_MARK_ATTEMPT = (
    update(run_attempts)
    .where(run_attempts.c.run_id == bindparam("rid"), run_attempts.c.attempt == bindparam("att"))
    .values(status=RunStatus.RUNNING, pid=bindparam("pid"), log_path=bindparam("log"))
)


def finish(conn: Connection, params: Mapping[str, object], *, requeue: bool = False,
           only_cancel_requested: bool = False) -> bool:
    """End the run's attempt (``rid``, ``att``, ``code``, ``err``, ``log``, ``st``, ``now``)
    if the run is still active in it: with ``requeue`` back to the queue as attempt
    ``next`` not before ``nb`` (unless a cancel was requested), with
    ``only_cancel_requested`` only when a cancel was requested. True if it changed;
    the attempt row is then ended too."""
    if requeue:
        stmt = _REQUEUE
    elif only_cancel_requested:
        stmt = _FINISH.where(runs.c.cancel_requested.is_(True))
    else:
        stmt = _FINISH
    if conn.execute(stmt, params).rowcount != 1:
        return False
    conn.execute(_FINISH_ATTEMPT, params)
    return True


# The update only touches a run still active in this attempt.
_ACTIVE_ATTEMPT = (runs.c.id == bindparam("rid"), runs.c.attempt == bindparam("att"),
                   runs.c.status.in_(ACTIVE_STATUSES))
_ENDED = {
    "exit_code": bindparam("code"), "error": bindparam("err"), "heartbeat_at": None,
    "log_path": func.coalesce(bindparam("log", type_=runs.c.log_path.type), runs.c.log_path),
    "finished_at": bindparam("now", type_=runs.c.finished_at.type),
}
_FINISH = update(runs).where(*_ACTIVE_ATTEMPT).values(**_ENDED, status=bindparam("st"))
_REQUEUE = update(runs).where(*_ACTIVE_ATTEMPT, runs.c.cancel_requested.is_(False)).values(
    **{**_ENDED, "finished_at": None}, status=RunStatus.QUEUED, attempt=bindparam("next"),
    worker_id=None, pid=None, not_before=bindparam("nb", type_=runs.c.not_before.type))
_FINISH_ATTEMPT = (
    update(run_attempts)
    .where(run_attempts.c.run_id == bindparam("rid"), run_attempts.c.attempt == bindparam("att"))
    .values(status=bindparam("st"), exit_code=bindparam("code"), error=bindparam("err"),
            finished_at=bindparam("now", type_=run_attempts.c.finished_at.type))
)


def heartbeat(conn: Connection, *, worker_id: str, now: dt.datetime) -> list[int]:
    """Renew the heartbeat of the worker's active runs; the ids with a cancel request."""
    conn.execute(
        update(runs)
        .where(runs.c.worker_id == worker_id, runs.c.status.in_(ACTIVE_STATUSES))
        .values(heartbeat_at=now)
    )
    rows = conn.execute(
        select(runs.c.id).where(runs.c.worker_id == worker_id,
                                runs.c.status.in_(ACTIVE_STATUSES),
                                runs.c.cancel_requested.is_(True))
    )
    return [row[0] for row in rows]


def active_rows(conn: Connection, *, worker_ids: Iterable[str] | None = None) -> list[Any]:
    """Rows of the runs starting or running, optionally only those of some workers."""
    query = select(runs).where(runs.c.status.in_(ACTIVE_STATUSES))
    if worker_ids is not None:
        query = query.where(runs.c.worker_id.in_(list(worker_ids)))
    return list(conn.execute(query))


def cancel_queued(conn: Connection, run_id: int, *, now: dt.datetime) -> bool:
    """Cancel run ``run_id`` if it is still queued; True if it was."""
    return conn.execute(
        update(runs).where(runs.c.id == run_id, runs.c.status == RunStatus.QUEUED)
        .values(status=RunStatus.CANCELED, finished_at=now, error="canceled before it started")
    ).rowcount == 1


def flag_cancel(conn: Connection, run_id: int) -> None:
    """Ask the worker running ``run_id`` to stop it."""
    conn.execute(update(runs).where(runs.c.id == run_id).values(cancel_requested=True))
