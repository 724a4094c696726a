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
from typing import Literal

from lockgate.definitions import RetryPolicy
from lockgate.runs.records import Run
from lockgate.statuses import RunStatus
from lockgate.store import claim_lanes
from lockgate.store import queue as store
from lockgate.store.connection import Connection
from lockgate.time.backoff import exponential_backoff

__all__ = [
    "ACTIVE_STATUSES",
    "AttemptResult",
    "Limits",
    "adopt",
    "claim",
    "finish_attempts",
    "heartbeat",
    "mark_running",
    "request_cancel",
    "retry_delay",
]

ACTIVE_STATUSES = store.ACTIVE_STATUSES


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Concurrency limits that hold across every process claiming from the store."""

    max_concurrent_runs: int
    per_job: Mapping[str, int] = field(default_factory=dict)
    pools: Mapping[str, int] = field(default_factory=dict)
    # job -> its pool (concurrency_key), so a full pool's jobs are not even read
    job_pools: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Running:
    """The runs starting or running now, counted per job, pool and backfill."""

    total: int = 0
    by_job: Counter[str] = field(default_factory=Counter)
    by_pool: Counter[str] = field(default_factory=Counter)
    by_backfill: Counter[int] = field(default_factory=Counter)

    def add(self, job: str, pool: str | None, backfill_id: int | None, count: int = 1
            ) -> None:
        self.by_job[job] += count
        if pool:
            self.by_pool[pool] += count
        if backfill_id is not None:
            self.by_backfill[backfill_id] += count


def claim(conn: Connection, *, worker_id: str, limits: Limits, now: dt.datetime,
          max_runs: int) -> list[Run]:
    """Claim up to ``max_runs`` queued runs for ``worker_id``; they become ``starting``."""
    if max_runs <= 0:
        return []
    store.lock_claimers(conn)
    running = _Running()
    for job, pool, backfill_id, count in store.running_counts(conn):
        running.total += count
        running.add(job, pool, backfill_id, count)
    free = min(max_runs, limits.max_concurrent_runs - running.total)
    if free <= 0:
        return []
    held, backfill_limits = claim_lanes.backfill_holds(conn)
    candidates = _lane_heads(conn, limits, running, set(held), backfill_limits, free, now)
    chosen = _within_limits(candidates, limits, running, backfill_limits, free)
    if not chosen:
        return []
    rows = store.start(conn, chosen, worker_id=worker_id, now=now)
    return sorted((Run.from_row(row) for row in rows), key=lambda r: chosen.index(r.id))


def _lane_heads(conn: Connection, limits: Limits, running: _Running,
                blocked_backfills: set[int], backfill_limits: Mapping[int, int], free: int,
                now: dt.datetime) -> list[claim_lanes.QueuedRun]:
    """The first ``free`` due runs of each lane no limit holds back, in claim order."""
    full_jobs = [j for j, n in limits.per_job.items() if running.by_job[j] >= n]
    full_pools = [p for p, n in limits.pools.items() if running.by_pool[p] >= n]
    blocked_backfills |= {b for b, n in backfill_limits.items()
                          if running.by_backfill[b] >= n}
    # Each lane (a job's runs of one backfill, or of none) that a limit does not hold
    # back gives its first `free` due runs; merged in claim order they are exactly the
    # runs a walk of the whole queue would meet first, without walking past a backlog.
    skip_jobs = frozenset(full_jobs) | frozenset(
        job for job, pool in limits.job_pools.items() if pool in full_pools)
    pg = conn.dialect.name == "postgresql"
    candidates = []
    for job, backfill_id in claim_lanes.lanes(conn, skip_jobs=skip_jobs):
        if backfill_id is not None and backfill_id in blocked_backfills:
            continue
        candidates.extend(claim_lanes.lane_head(conn, job, backfill_id, now=now, limit=free,
                                                lock=pg))
    candidates.sort(key=lambda c: c.order)
    return candidates


def _within_limits(candidates: Sequence[claim_lanes.QueuedRun], limits: Limits,
                   running: _Running, backfill_limits: Mapping[int, int], free: int
                   ) -> list[int]:
    """The ids of the candidates, in order, that fit the limits (at most ``free``);
    ``running`` counts them in."""
    chosen: list[int] = []
    by_job, by_pool, by_backfill = running.by_job, running.by_pool, running.by_backfill
    for c in candidates:
        job, pool, backfill_id = c.job, c.pool, c.backfill_id
        if job in limits.per_job and by_job[job] >= limits.per_job[job]:
            continue
        if pool and pool in limits.pools and by_pool[pool] >= limits.pools[pool]:
            continue
        if backfill_id is not None and backfill_id in backfill_limits and \
                by_backfill[backfill_id] >= backfill_limits[backfill_id]:
            continue
        chosen.append(c.id)
        running.add(job, pool, backfill_id)
        if len(chosen) == free:
            break
    return chosen


def mark_running(conn: Connection, *, run_id: int, attempt: int, pid: int,
                 log_path: str) -> bool:
    """Record the child's pid; False if the run was no longer ``starting`` this attempt."""
    params = {"rid": run_id, "att": attempt, "pid": pid, "log": log_path}
    return store.mark_running(conn, params)


def adopt(conn: Connection, run: Run, *, worker_id: str, pid: int, log_path: str,
          now: dt.datetime) -> bool:
    """Take over ``run``'s attempt from its dead worker (conditional on it still being
    that worker's); False if another worker took it or it ended meanwhile."""
    params = {"rid": run.id, "att": run.attempt, "old": run.worker_id, "new": worker_id,
              "pid": pid, "log": log_path, "now": now}
    return store.adopt(conn, params)


@dataclass(frozen=True, kw_only=True)
class AttemptResult:
    """How one attempt ended. ``retryable`` False means the error is permanent."""

    run_id: int
    attempt: int
    status: RunStatus  # SUCCEEDED, FAILED or CANCELED
    exit_code: int | None = None
    error: str | None = None
    log_path: str | None = None
    retryable: bool = True
    finished_at: dt.datetime | None = None  # when it ended, if not when it is recorded


def retry_delay(policy: RetryPolicy, attempt: int, rng: random.Random | None = None
                ) -> dt.timedelta:
    """The wait before attempt ``attempt + 1``: exponential, capped, with jitter.

    ``backoff * 2**(attempt-1)``, capped at ``max_backoff``; with jitter, a uniform
    draw between half and all of it, so retries of a burst of failures spread out.
    """
    delay = exponential_backoff(policy.backoff.total_seconds(), attempt,
                                policy.max_backoff.total_seconds())
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
        retry = (res.status == RunStatus.FAILED and res.retryable and res.attempt <= policy.max)
        params: dict[str, object] = {
            "rid": res.run_id, "att": res.attempt, "code": res.exit_code, "err": res.error,
            "log": res.log_path or None, "st": res.status, "now": res.finished_at or now,
        }
        if retry:
            params |= {"next": res.attempt + 1,
                       "nb": now + retry_delay(policy, res.attempt, rng)}
        done = store.finish(conn, params, requeue=retry)
        if retry and not done:
            # An operator asked to cancel this run: it ends canceled, not retried.
            params |= {"st": RunStatus.CANCELED}
            done = store.finish(conn, params, only_cancel_requested=True)
            if done:
                res = replace(res, status=RunStatus.CANCELED)
                retry = False
        if not done:
            continue
        applied.append((res, not retry))
    return applied


def heartbeat(conn: Connection, *, worker_id: str, now: dt.datetime) -> list[int]:
    """Renew the heartbeat of the worker's active runs; returns ids with a cancel request."""
    return store.heartbeat(conn, worker_id=worker_id, now=now)


def active_runs(conn: Connection, *, worker_ids: Iterable[str] | None = None) -> list[Run]:
    """Runs in ``starting`` or ``running``, optionally only those of some workers."""
    return [Run.from_row(row) for row in store.active_rows(conn, worker_ids=worker_ids)]


def request_cancel(conn: Connection, run_id: int, *, now: dt.datetime
                   ) -> Literal["canceled", "cancel_requested"]:
    """Cancel a run: a queued one at once, an active one through its worker.

    Returns ``canceled`` or ``cancel_requested``.

    Raises:
        NotFoundError: no such run.
        ConflictError: it already finished, or kept changing state.
    """
    from lockgate.errors import ConflictError
    from lockgate.runs.records import get_run

    for _ in range(3):
        run = get_run(conn, run_id)
        if run.status == RunStatus.QUEUED:
            if store.cancel_queued(conn, run_id, now=now):
                return "canceled"
        elif run.status in ACTIVE_STATUSES:
            store.flag_cancel(conn, run_id)
            return "cancel_requested"
        else:
            raise ConflictError(f"run {run_id} already finished ({run.status}); nothing to cancel")
    raise ConflictError(f"run {run_id} kept changing state; try again")
