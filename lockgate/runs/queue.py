"""The queue: claiming runs under limits, and moving claimed runs through their attempt.

Claiming is one write transaction that reads the running counts, picks queued runs in
claim order (priority, then queue time) within the limits, lane by lane so that a
backlog a limit holds back hides nothing behind it (``lockgate.store.claim_lanes``),
and moves them to
``starting`` with a conditional update (``WHERE status = 'queued'``), so a run is
started at most once per attempt (DESIGN.md invariant 3). On PostgreSQL, claimers are
serialized by a transaction-scoped advisory lock (so limits hold across daemons) and
candidates are locked with ``FOR UPDATE SKIP LOCKED``; on SQLite the IMMEDIATE
transaction is the lock.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import Connection, bindparam, func, select, update

from lockgate.definitions import RetryPolicy
from lockgate.runs.records import Run
from lockgate.store import claim_lanes
from lockgate.store.tables import run_attempts, runs

__all__ = [
    "ACTIVE_STATUSES",
    "AttemptResult",
    "Limits",
    "claim",
    "finish_attempts",
    "heartbeat",
    "mark_running",
    "request_cancel",
    "retry_delay",
]

ACTIVE_STATUSES = ("starting", "running")
_CLAIM_LOCK = 0x6C6F636B  # "lock": the advisory lock id claimers share on PostgreSQL


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Concurrency limits that hold across every process claiming from the store."""

    max_concurrent_runs: int
    per_job: Mapping[str, int] = field(default_factory=dict)
    pools: Mapping[str, int] = field(default_factory=dict)
    # job -> its pool (concurrency_key), so a full pool's jobs are not even read
    job_pools: Mapping[str, str] = field(default_factory=dict)


def claim(conn: Connection, *, worker_id: str, limits: Limits, now: dt.datetime,
          max_runs: int) -> list[Run]:
    """Claim up to ``max_runs`` queued runs for ``worker_id``; they become ``starting``."""
    if max_runs <= 0:
        return []
    pg = conn.dialect.name == "postgresql"
    if pg:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_CLAIM_LOCK,))
    by_job: Counter[str] = Counter()
    by_pool: Counter[str] = Counter()
    by_backfill: Counter[int] = Counter()
    total = 0
    for job, pool, backfill_id, count in conn.exec_driver_sql(
        "SELECT job, pool, backfill_id, COUNT(*) FROM runs "
        "WHERE status IN ('starting', 'running') GROUP BY job, pool, backfill_id"
    ):
        total += count
        by_job[job] += count
        if pool:
            by_pool[pool] += count
        if backfill_id is not None:
            by_backfill[backfill_id] += count
    free = min(max_runs, limits.max_concurrent_runs - total)
    if free <= 0:
        return []

    backfill_limits: dict[int, int] = {}
    blocked_backfills: set[int] = set()
    for backfill_id, status, max_concurrent in conn.exec_driver_sql(
        "SELECT id, status, max_concurrent FROM backfills "
        "WHERE status = 'paused' OR (status = 'running' AND max_concurrent IS NOT NULL)"
    ):
        if status == "paused":
            blocked_backfills.add(backfill_id)
        else:
            backfill_limits[backfill_id] = max_concurrent
    full_jobs = [j for j, n in limits.per_job.items() if by_job[j] >= n]
    full_pools = [p for p, n in limits.pools.items() if by_pool[p] >= n]
    blocked_backfills |= {b for b, n in backfill_limits.items() if by_backfill[b] >= n}

    # Each lane (a job's runs of one backfill, or of none) that a limit does not hold
    # back gives its first `free` due runs; merged in claim order they are exactly the
    # runs a walk of the whole queue would meet first, without walking past a backlog.
    skip_jobs = frozenset(full_jobs) | frozenset(
        job for job, pool in limits.job_pools.items() if pool in full_pools)
    candidates = []
    for job, backfill_id in claim_lanes.lanes(conn, skip_jobs=skip_jobs):
        if backfill_id is not None and backfill_id in blocked_backfills:
            continue
        candidates.extend(claim_lanes.lane_head(conn, job, backfill_id, now=now, limit=free,
                                                lock=pg))
    candidates.sort(key=lambda c: c.order)
    chosen: list[int] = []
    for c in candidates:
        job, pool, backfill_id = c.job, c.pool, c.backfill_id
        if job in limits.per_job and by_job[job] >= limits.per_job[job]:
            continue
        if pool and pool in limits.pools and by_pool[pool] >= limits.pools[pool]:
            continue
        if backfill_id in backfill_limits and by_backfill[backfill_id] >= \
                backfill_limits[backfill_id]:
            continue
        chosen.append(c.id)
        by_job[job] += 1
        if pool:
            by_pool[pool] += 1
        if backfill_id is not None:
            by_backfill[backfill_id] += 1
        if len(chosen) == free:
            break
    if not chosen:
        return []
    rows = conn.execute(
        # coalesce() keeps SQLite on the primary key: on `status = 'queued'` it would
        # pick the claim index and walk every queued run to find these few.
        update(runs)
        .where(runs.c.id.in_(chosen), func.coalesce(runs.c.status, "") == "queued")
        .values(status="starting", worker_id=worker_id, started_at=now, heartbeat_at=now,
                finished_at=None, pid=None, exit_code=None, error=None, not_before=None)
        .returning(*runs.c)
    ).all()
    claimed = sorted((Run.from_row(row) for row in rows), key=lambda r: chosen.index(r.id))
    if claimed:
        conn.execute(run_attempts.insert(), [
            {"run_id": r.id, "attempt": r.attempt, "worker_id": worker_id, "started_at": now,
             "status": "starting"} for r in claimed
        ])
    return claimed


def mark_running(conn: Connection, *, run_id: int, attempt: int, pid: int,
                 log_path: str) -> bool:
    """Record the child's pid; False if the run was no longer ``starting`` this attempt."""
    params = {"rid": run_id, "att": attempt, "pid": pid, "log": log_path}
    result = conn.execute(_MARK_RUN, params)
    conn.execute(_MARK_ATTEMPT, params)
    return result.rowcount == 1


# Built once: building a statement costs more than running it on the worker's hot path.
_MARK_RUN = (
    update(runs)
    .where(runs.c.id == bindparam("rid"), runs.c.attempt == bindparam("att"),
           runs.c.status == "starting")
    .values(status="running", pid=bindparam("pid"), log_path=bindparam("log"))
)
_MARK_ATTEMPT = (
    update(run_attempts)
    .where(run_attempts.c.run_id == bindparam("rid"), run_attempts.c.attempt == bindparam("att"))
    .values(status="running", pid=bindparam("pid"), log_path=bindparam("log"))
)


@dataclass(frozen=True, kw_only=True)
class AttemptResult:
    """How one attempt ended. ``retryable`` False means the error is permanent."""

    run_id: int
    attempt: int
    status: str  # succeeded, failed, canceled
    exit_code: int | None = None
    error: str | None = None
    log_path: str | None = None
    retryable: bool = True


def retry_delay(policy: RetryPolicy, attempt: int, rng: random.Random | None = None
                ) -> dt.timedelta:
    """The wait before attempt ``attempt + 1``: exponential, capped, with jitter.

    ``backoff * 2**(attempt-1)``, capped at ``max_backoff``; with jitter, a uniform
    draw between half and all of it, so retries of a burst of failures spread out.
    """
    base = policy.backoff.total_seconds() * (2 ** max(attempt - 1, 0))
    delay = min(base, policy.max_backoff.total_seconds())
    if policy.jitter:
        delay *= (rng or random).uniform(0.5, 1.0)
    return dt.timedelta(seconds=delay)


def finish_attempts(
    conn: Connection,
    results: Sequence[AttemptResult],
    *,
    policies: Mapping[int, RetryPolicy],
    now: dt.datetime,
    rng: random.Random | None = None,
) -> list[tuple[AttemptResult, bool]]:
    """End attempts; a failed one with retries left goes back to the queue after its backoff.

    ``policies`` maps run id to its job's retry policy. Only runs still active in that
    attempt are changed (a conditional update), so a result reported twice, or for a
    run that recovery already ended, changes nothing. Returns each applied result with
    True when the run is now final (not re-queued).
    """
    applied: list[tuple[AttemptResult, bool]] = []
    for res in results:
        policy = policies.get(res.run_id, RetryPolicy())
        retry = (res.status == "failed" and res.retryable and res.attempt <= policy.max)
        params: dict[str, object] = {
            "rid": res.run_id, "att": res.attempt, "code": res.exit_code, "err": res.error,
            "log": res.log_path or None, "st": res.status, "now": now,
        }
        if retry:
            params |= {"next": res.attempt + 1,
                       "nb": now + retry_delay(policy, res.attempt, rng)}
        done = conn.execute(_REQUEUE if retry else _FINISH, params)
        if retry and done.rowcount != 1:
            # An operator asked to cancel this run: it ends canceled, not retried.
            params |= {"st": "canceled"}
            done = conn.execute(_FINISH.where(runs.c.cancel_requested.is_(True)), params)
            if done.rowcount == 1:
                res = replace(res, status="canceled")
                retry = False
        if done.rowcount != 1:
            continue
        conn.execute(_FINISH_ATTEMPT, params)
        applied.append((res, not retry))
    return applied


# Built once (see _MARK_RUN). The update only touches a run still active in this attempt.
_ACTIVE_ATTEMPT = (runs.c.id == bindparam("rid"), runs.c.attempt == bindparam("att"),
                   runs.c.status.in_(ACTIVE_STATUSES))
_ENDED = {
    "exit_code": bindparam("code"), "error": bindparam("err"), "heartbeat_at": None,
    "log_path": func.coalesce(bindparam("log", type_=runs.c.log_path.type), runs.c.log_path),
    "finished_at": bindparam("now", type_=runs.c.finished_at.type),
}
_FINISH = update(runs).where(*_ACTIVE_ATTEMPT).values(**_ENDED, status=bindparam("st"))
_REQUEUE = update(runs).where(*_ACTIVE_ATTEMPT, runs.c.cancel_requested.is_(False)).values(
    **{**_ENDED, "finished_at": None}, status="queued", attempt=bindparam("next"),
    worker_id=None, pid=None, not_before=bindparam("nb", type_=runs.c.not_before.type))
_FINISH_ATTEMPT = (
    update(run_attempts)
    .where(run_attempts.c.run_id == bindparam("rid"), run_attempts.c.attempt == bindparam("att"))
    .values(status=bindparam("st"), exit_code=bindparam("code"), error=bindparam("err"),
            finished_at=bindparam("now", type_=run_attempts.c.finished_at.type))
)


def heartbeat(conn: Connection, *, worker_id: str, now: dt.datetime) -> list[int]:
    """Renew the heartbeat of the worker's active runs; returns ids with a cancel request."""
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


def active_runs(conn: Connection, *, worker_ids: Iterable[str] | None = None) -> list[Run]:
    """Runs in ``starting`` or ``running``, optionally only those of some workers."""
    query = select(runs).where(runs.c.status.in_(ACTIVE_STATUSES))
    if worker_ids is not None:
        query = query.where(runs.c.worker_id.in_(list(worker_ids)))
    return [Run.from_row(row) for row in conn.execute(query)]


def request_cancel(conn: Connection, run_id: int, *, now: dt.datetime) -> str:
    """Cancel a run: a queued one at once, an active one through its worker.

    Returns ``canceled`` or ``cancel_requested``.

    Raises:
        UsageError: no such run, or it already finished.
    """
    from lockgate.errors import UsageError
    from lockgate.runs.records import get_run

    for _ in range(3):
        run = get_run(conn, run_id)
        if run.status == "queued":
            done = conn.execute(
                update(runs).where(runs.c.id == run_id, runs.c.status == "queued")
                .values(status="canceled", finished_at=now, error="canceled before it started")
            )
            if done.rowcount == 1:
                return "canceled"
        elif run.status in ACTIVE_STATUSES:
            conn.execute(update(runs).where(runs.c.id == run_id)
                         .values(cancel_requested=True))
            return "cancel_requested"
        else:
            raise UsageError(f"run {run_id} already finished ({run.status}); nothing to cancel")
    raise UsageError(f"run {run_id} kept changing state; try again")
