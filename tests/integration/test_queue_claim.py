"""The queue on SQLite and PostgreSQL: claim order, limits, retries, heartbeats, cancel."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter

import pytest
from sqlalchemy import insert, select, update

from lockgate.definitions import Definitions, Job, RetryPolicy, RunRequest
from lockgate.errors import ConflictError, NotFoundError
from lockgate.runs import get_run, request_runs
from lockgate.runs.queue import (
    AttemptResult,
    Limits,
    claim,
    finish_attempts,
    heartbeat,
    mark_running,
    request_cancel,
    retry_delay,
)
from lockgate.store import Store
from lockgate.store.tables import backfills, run_attempts, runs

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
DEFS = Definitions(
    storage_url="sqlite://",
    jobs={
        "a": Job(name="a", command=("true",)),
        "b": Job(name="b", command=("true",)),
        "wh1": Job(name="wh1", command=("true",), concurrency_key="warehouse"),
        "wh2": Job(name="wh2", command=("true",), concurrency_key="warehouse"),
    },
)
WIDE = Limits(max_concurrent_runs=1000)


def queue_runs(store: Store, target: str, n: int = 1, *, priority: int = 0,
               at: dt.datetime = T0, backfill_id: int | None = None) -> list[int]:
    with store.begin() as conn:
        outs = request_runs(conn, [RunRequest(target=target, priority=priority)] * n,
                            origin="manual", defs=DEFS, now=at, backfill_id=backfill_id)
    return [o.run_id for o in outs]


def take(store: Store, n: int, limits: Limits = WIDE, *, worker: str = "w1",
         now: dt.datetime = T0) -> list[int]:
    with store.begin() as conn:
        return [r.id for r in claim(conn, worker_id=worker, limits=limits, now=now,
                                    max_runs=n)]


def finish(store: Store, run_id: int, status: str = "succeeded", *,
           policy: RetryPolicy | None = None, now: dt.datetime = T0,
           retryable: bool = True) -> list[tuple[AttemptResult, bool]]:
    with store.begin() as conn:
        attempt = get_run(conn, run_id).attempt
        return finish_attempts(
            conn, [AttemptResult(run_id=run_id, attempt=attempt, status=status,
                                 exit_code=0 if status == "succeeded" else 1,
                                 retryable=retryable)],
            policies={run_id: policy} if policy else {}, now=now, rng=random.Random(1))


def status_of(store: Store, run_id: int) -> str:
    with store.read() as conn:
        return get_run(conn, run_id).status


# -- order ----------------------------------------------------------------------------


def test_claim_order_is_priority_then_queue_time(store: Store) -> None:
    late_low = queue_runs(store, "a", at=T0 + dt.timedelta(seconds=3))[0]
    early_low = queue_runs(store, "a", at=T0)[0]
    late_high = queue_runs(store, "a", priority=5, at=T0 + dt.timedelta(seconds=2))[0]
    early_high = queue_runs(store, "a", priority=5, at=T0 + dt.timedelta(seconds=1))[0]
    negative = queue_runs(store, "a", priority=-1, at=T0 - dt.timedelta(hours=1))[0]
    got = [take(store, 1, now=T0 + dt.timedelta(minutes=1))[0] for _ in range(5)]
    assert got == [early_high, late_high, early_low, late_low, negative]
    assert take(store, 1) == []


def test_claim_in_one_call_returns_runs_in_claim_order(store: Store) -> None:
    low = queue_runs(store, "a", 3)
    high = queue_runs(store, "b", 2, priority=1)
    assert take(store, 10) == high + low


def test_claimed_run_is_starting_with_an_attempt_row(store: Store) -> None:
    [run_id] = queue_runs(store, "a")
    with store.begin() as conn:
        [run] = claim(conn, worker_id="host:1:x", limits=WIDE, now=T0, max_runs=5)
        assert (run.id, run.status, run.worker_id, run.started_at) == (
            run_id, "starting", "host:1:x", T0)
        attempt = conn.execute(select(run_attempts)).one()._mapping
        assert (attempt["run_id"], attempt["attempt"], attempt["status"]) == (
            run_id, 1, "starting")
        assert mark_running(conn, run_id=run_id, attempt=1, pid=1234, log_path="/l")
        assert not mark_running(conn, run_id=run_id, attempt=1, pid=1234, log_path="/l")
        run = get_run(conn, run_id)
        assert (run.status, run.pid, run.log_path) == ("running", 1234, "/l")


def test_a_run_waiting_for_its_backoff_is_not_claimed(store: Store) -> None:
    [run_id] = queue_runs(store, "a")
    with store.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id)
                     .values(not_before=T0 + dt.timedelta(seconds=30)))
    assert take(store, 1, now=T0 + dt.timedelta(seconds=29)) == []
    assert take(store, 1, now=T0 + dt.timedelta(seconds=30)) == [run_id]


# -- limits -----------------------------------------------------------------------------


def test_global_limit_counts_runs_claimed_by_every_worker(store: Store) -> None:
    queue_runs(store, "a", 10)
    limits = Limits(max_concurrent_runs=4)
    assert len(take(store, 3, limits, worker="w1")) == 3
    assert len(take(store, 3, limits, worker="w2")) == 1
    assert take(store, 3, limits, worker="w3") == []


def test_finished_runs_free_their_slot(store: Store) -> None:
    queue_runs(store, "a", 3)
    limits = Limits(max_concurrent_runs=1)
    first = take(store, 5, limits)
    assert len(first) == 1 and take(store, 5, limits) == []
    finish(store, first[0])
    assert len(take(store, 5, limits)) == 1


def test_per_job_limit_steps_over_to_other_jobs(store: Store) -> None:
    a_ids = queue_runs(store, "a", 5, priority=1)
    b_ids = queue_runs(store, "b", 2)
    limits = Limits(max_concurrent_runs=100, per_job={"a": 2})
    got = take(store, 10, limits)
    assert got == a_ids[:2] + b_ids
    assert take(store, 10, limits) == []
    finish(store, a_ids[0])
    assert take(store, 10, limits) == [a_ids[2]]


def test_pool_limit_holds_across_jobs_sharing_the_key(store: Store) -> None:
    one = queue_runs(store, "wh1", 3)
    two = queue_runs(store, "wh2", 3)
    other = queue_runs(store, "a", 1)
    limits = Limits(max_concurrent_runs=100, pools={"warehouse": 2})
    got = take(store, 10, limits)
    assert got == one[:2] + other
    assert take(store, 10, limits, worker="w2") == []
    finish(store, one[1])
    assert take(store, 10, limits, worker="w2") == [one[2]]
    finish(store, one[0])
    finish(store, one[2])
    assert take(store, 10, limits) == two[:2]


def test_window_steps_over_many_held_back_runs(store: Store) -> None:
    """The claim window is bounded; runs held back by a full job must not starve others."""
    queue_runs(store, "a", 200, priority=1)
    [b] = queue_runs(store, "b", 1)
    limits = Limits(max_concurrent_runs=100, per_job={"a": 1})
    first = take(store, 1, limits)
    assert first != [b]
    assert take(store, 1, limits) == [b]


def _backfill(store: Store, status: str, max_concurrent: int | None) -> int:
    with store.begin() as conn:
        return int(conn.execute(insert(backfills).values(
            asset="x", status=status, selection="{}", chunk=1, max_concurrent=max_concurrent,
            priority=0, partition_count=0, run_count=0, created_at=T0, updated_at=T0,
        ).returning(backfills.c.id)).scalar_one())


def test_backfill_max_concurrent_and_paused_backfills(store: Store) -> None:
    throttled = _backfill(store, "running", 2)
    paused = _backfill(store, "paused", None)
    t_ids = queue_runs(store, "a", 4, backfill_id=throttled)
    p_ids = queue_runs(store, "a", 2, backfill_id=paused)
    free = queue_runs(store, "a", 1)
    got = take(store, 10)
    assert got == t_ids[:2] + free
    assert not set(got) & set(p_ids)
    with store.begin() as conn:
        conn.execute(update(backfills).where(backfills.c.id == paused).values(status="running"))
    assert take(store, 10) == p_ids


# -- at most once, with claimers racing ------------------------------------------------


def test_racing_claimers_never_claim_a_run_twice_and_respect_the_limit(store: Store) -> None:
    total = 300
    queue_runs(store, "a", total)
    limits = Limits(max_concurrent_runs=7)
    claimed: Counter[int] = Counter()
    peaks: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        try:
            rng = random.Random(name)
            while True:
                got = take(store, rng.randint(1, 4), limits, worker=name)
                with store.read() as conn:
                    active = conn.exec_driver_sql(
                        "SELECT COUNT(*) FROM runs WHERE status IN ('starting', 'running')"
                    ).scalar()
                with lock:
                    claimed.update(got)
                    peaks.append(int(active or 0))
                    done = sum(claimed.values())
                for run_id in got:
                    finish(store, run_id)
                if not got and done >= total:
                    return
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert len(claimed) == total
    assert set(claimed.values()) == {1}
    assert max(peaks) <= 7


# -- finishing attempts: retries with backoff ----------------------------------------------


def test_retries_with_exponential_backoff_then_final_failure(store: Store) -> None:
    policy = RetryPolicy(max=2, backoff=dt.timedelta(seconds=10),
                         max_backoff=dt.timedelta(hours=1), jitter=False)
    [run_id] = queue_runs(store, "a")
    now = T0
    delays = []
    for attempt in (1, 2):
        assert take(store, 1, now=now) == [run_id]
        [(res, final)] = finish(store, run_id, "failed", policy=policy, now=now)
        assert res.attempt == attempt and not final
        with store.read() as conn:
            run = get_run(conn, run_id)
        assert (run.status, run.attempt) == ("queued", attempt + 1)
        assert run.not_before is not None
        delays.append(run.not_before - now)
        assert take(store, 1, now=run.not_before - dt.timedelta(seconds=1)) == []
        now = run.not_before
    assert delays == [dt.timedelta(seconds=10), dt.timedelta(seconds=20)]
    assert take(store, 1, now=now) == [run_id]
    [(_, final)] = finish(store, run_id, "failed", policy=policy, now=now)
    assert final
    with store.read() as conn:
        run = get_run(conn, run_id)
        attempts = conn.execute(select(run_attempts.c.attempt, run_attempts.c.status)
                                .order_by(run_attempts.c.attempt)).all()
    assert (run.status, run.attempt, run.exit_code) == ("failed", 3, 1)
    assert [tuple(a) for a in attempts] == [(1, "failed"), (2, "failed"), (3, "failed")]


def test_a_success_after_a_retry_ends_the_run(store: Store) -> None:
    policy = RetryPolicy(max=3, backoff=dt.timedelta(0), jitter=False)
    [run_id] = queue_runs(store, "a")
    take(store, 1)
    finish(store, run_id, "failed", policy=policy)
    assert take(store, 1) == [run_id]
    [(_, final)] = finish(store, run_id, "succeeded", policy=policy)
    assert final
    with store.read() as conn:
        run = get_run(conn, run_id)
    assert (run.status, run.attempt, run.exit_code, run.not_before) == (
        "succeeded", 2, 0, None)


def test_permanent_errors_and_cancels_are_not_retried(store: Store) -> None:
    policy = RetryPolicy(max=5)
    ids = queue_runs(store, "a", 2)
    take(store, 2)
    assert finish(store, ids[0], "failed", policy=policy, retryable=False)[0][1]
    assert finish(store, ids[1], "canceled", policy=policy)[0][1]
    assert [status_of(store, i) for i in ids] == ["failed", "canceled"]


def test_a_result_reported_twice_changes_nothing(store: Store) -> None:
    [run_id] = queue_runs(store, "a")
    take(store, 1)
    assert len(finish(store, run_id, "succeeded")) == 1
    assert finish(store, run_id, "failed") == []
    assert status_of(store, run_id) == "succeeded"


def test_retry_delay_is_capped_and_jittered() -> None:
    policy = RetryPolicy(max=10, backoff=dt.timedelta(seconds=30),
                         max_backoff=dt.timedelta(minutes=5), jitter=True)
    rng = random.Random(7)
    for attempt in range(1, 10):
        full = min(30 * 2 ** (attempt - 1), 300)
        delay = retry_delay(policy, attempt, rng).total_seconds()
        assert full / 2 <= delay <= full


# -- heartbeats and cancel ----------------------------------------------------------------


def test_heartbeat_renews_own_runs_and_reports_cancel_requests(store: Store) -> None:
    ids = queue_runs(store, "a", 3)
    take(store, 2, worker="w1")
    later = T0 + dt.timedelta(seconds=30)
    with store.begin() as conn:
        assert request_cancel(conn, ids[1], now=later) == "cancel_requested"
        assert heartbeat(conn, worker_id="w1", now=later) == [ids[1]]
        assert heartbeat(conn, worker_id="w2", now=later) == []
        beats = dict(conn.execute(select(runs.c.id, runs.c.heartbeat_at)).all())
    assert beats[ids[0]] == later and beats[ids[1]] == later and beats[ids[2]] is None


def test_cancel_of_a_queued_run_is_immediate(store: Store) -> None:
    [run_id] = queue_runs(store, "a")
    with store.begin() as conn:
        assert request_cancel(conn, run_id, now=T0) == "canceled"
        run = get_run(conn, run_id)
    assert (run.status, run.finished_at) == ("canceled", T0)
    assert take(store, 1) == []


def test_cancel_of_a_finished_or_missing_run_is_a_usage_error(store: Store) -> None:
    [run_id] = queue_runs(store, "a")
    take(store, 1)
    finish(store, run_id)
    with store.begin() as conn, pytest.raises(ConflictError, match="already finished"):
        request_cancel(conn, run_id, now=T0)
    with store.begin() as conn, pytest.raises(NotFoundError, match="no run with id 999"):
        request_cancel(conn, 999, now=T0)
