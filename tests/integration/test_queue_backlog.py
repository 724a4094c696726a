"""Claims behind a deep backlog, on SQLite and PostgreSQL.

A backlog held back by a limit (a ``max_concurrent: 1`` job, a full pool, a throttled
or paused backfill) must not hide the runs queued behind it: a claim finds every
claimable run whatever sits ahead of it, and its statements seek an index instead of
walking the backlog.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert

from lockgate.runs.queue import Limits, claim
from lockgate.runs.sql import db_time
from lockgate.store import Store
from lockgate.store.claim_lanes import lane_statements
from lockgate.store.tables import backfills

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def backlog(
    store: Store,
    job: str,
    n: int,
    *,
    pool: str | None = None,
    backfill_id: int | None = None,
    start: int = 0,
    status: str = "queued",
    at: dt.datetime = T0,
) -> None:
    """``n`` runs of ``job`` in one bulk statement, queued at ``at`` plus a microsecond each."""
    with store.begin() as conn:
        marks = ", ".join(["?" if conn.dialect.name == "sqlite" else "%s"] * 11)
        conn.exec_driver_sql(
            "INSERT INTO runs (target, job, pool, origin, run_key, partition_count, status, "
            f"attempt, priority, queued_at, backfill_id, cancel_requested) VALUES ({marks}, "
            f"{'0' if conn.dialect.name == 'sqlite' else 'FALSE'})",
            [
                (
                    job,
                    job,
                    pool,
                    "manual",
                    f"{job}-{start + i}",
                    0,
                    status,
                    1,
                    0,
                    db_time(conn, at + dt.timedelta(microseconds=i)),
                    backfill_id,
                )
                for i in range(n)
            ],
        )


def late_runs(store: Store, job: str, n: int, **kwargs: object) -> list[int]:
    """``n`` runs of ``job`` queued an hour after the backlog; their ids."""
    with store.read() as conn:
        before = conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM runs").scalar_one()
    backlog(store, job, n, start=10**9 + before, at=T0 + dt.timedelta(hours=1), **kwargs)  # type: ignore[arg-type]
    with store.read() as conn:
        return [
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT id FROM runs WHERE id > {int(before)} ORDER BY id"
            )
        ]


def take(store: Store, n: int, limits: Limits) -> list[tuple[int, str]]:
    with store.begin() as conn:
        return [
            (r.id, r.job)
            for r in claim(
                conn, worker_id="w", limits=limits, now=T0 + dt.timedelta(days=1), max_runs=n
            )
        ]


def _backfill(store: Store, status: str, max_concurrent: int | None) -> int:
    with store.begin() as conn:
        return int(
            conn.execute(
                insert(backfills)
                .values(
                    asset="x",
                    status=status,
                    selection="{}",
                    chunk=1,
                    max_concurrent=max_concurrent,
                    priority=0,
                    partition_count=0,
                    run_count=0,
                    created_at=T0,
                    updated_at=T0,
                )
                .returning(backfills.c.id)
            ).scalar_one()
        )


DEEP = 100_000


def test_manual_runs_behind_a_deep_backlog_of_a_limited_job_are_claimed(store: Store) -> None:
    backlog(store, "limited", DEEP)
    manual = late_runs(store, "other", 3)
    limits = Limits(max_concurrent_runs=8, per_job={"limited": 1})
    got = take(store, 8, limits)
    assert [j for _, j in got].count("limited") == 1
    assert sorted(i for i, j in got if j == "other") == manual
    assert take(store, 8, limits) == []  # the limited job is at its limit, nothing else


def test_a_full_pool_does_not_hide_a_job_outside_it(store: Store) -> None:
    backlog(store, "wh1", DEEP, pool="warehouse")
    pooled = late_runs(store, "wh2", 2, pool="warehouse")
    free = late_runs(store, "other", 2)
    limits = Limits(max_concurrent_runs=8, pools={"warehouse": 1})
    got = take(store, 8, limits)
    assert sorted(i for i, j in got if j == "other") == free
    assert len([j for _, j in got if j in ("wh1", "wh2")]) == 1
    assert not {i for i, _ in got} & set(pooled)
    # With the worker's map of pools, the full pool's lanes are not even read.
    more = late_runs(store, "other", 1)
    limits = Limits(
        max_concurrent_runs=8,
        pools={"warehouse": 1},
        job_pools={"wh1": "warehouse", "wh2": "warehouse"},
    )
    assert take(store, 8, limits) == [(more[0], "other")]


def test_a_throttled_or_paused_backfill_does_not_hide_the_same_jobs_other_runs(
    store: Store,
) -> None:
    throttled = _backfill(store, "running", 1)
    paused = _backfill(store, "paused", None)
    backlog(store, "daily", DEEP // 2, backfill_id=throttled)
    backlog(store, "daily", DEEP // 2, backfill_id=paused, start=DEEP)
    manual = late_runs(store, "daily", 3)
    got = take(store, 8, Limits(max_concurrent_runs=8))
    ids = [i for i, _ in got]
    assert len(ids) == 4 and sorted(ids[1:]) == manual  # one of the throttled backfill
    assert take(store, 8, Limits(max_concurrent_runs=8)) == []


def test_claim_order_across_lanes_is_priority_then_queue_time(store: Store) -> None:
    backlog(store, "a", 3, at=T0 + dt.timedelta(seconds=2))
    backlog(store, "b", 3, at=T0, start=100)
    with store.begin() as conn:
        conn.exec_driver_sql("UPDATE runs SET priority = 5 WHERE run_key = 'a-2'")
    with store.read() as conn:
        keys = {r[0]: r[1] for r in conn.exec_driver_sql("SELECT id, run_key FROM runs")}
    got = take(store, 4, Limits(max_concurrent_runs=100))
    assert [keys[i] for i, _ in got] == ["a-2", "b-100", "b-101", "b-102"]


def test_the_claim_statements_seek_the_claim_index(store: Store) -> None:
    backlog(store, "limited", DEEP)
    backlog(store, "other", 10, start=DEEP)
    with store.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        if pg:
            conn.exec_driver_sql("ANALYZE runs")
        statements = lane_statements(conn)
        args = {
            "first_job": (),
            "next_job": ("limited",),
            "next_backfill": ("limited", -1),
            "head_plain": ("other", db_time(conn, T0), 8),
            "head_backfill": ("other", 1, db_time(conn, T0), 8),
        }
        for name, sql in statements.items():
            explain = "EXPLAIN QUERY PLAN " if not pg else "EXPLAIN "
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(explain + sql, args[name]))
            assert "ix_runs_claim" in plan, (name, plan)
            assert "TEMP B-TREE" not in plan and "Sort" not in plan, (name, plan)
            assert "SCAN runs" not in plan and "Seq Scan" not in plan, (name, plan)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_million_queued_runs_of_a_limited_job_hide_nothing(store: Store) -> None:
    backlog(store, "limited", 1_000_000)
    manual = late_runs(store, "other", 3)
    limits = Limits(max_concurrent_runs=8, per_job={"limited": 1})
    got = take(store, 8, limits)
    assert sorted(i for i, j in got if j == "other") == manual
    assert [j for _, j in got].count("limited") == 1


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_no_statement_of_a_claim_walks_the_queued_runs(store: Store) -> None:
    from sqlalchemy import event

    backlog(store, "limited", DEEP)
    late_runs(store, "other", 3)
    seen: list[tuple[str, object]] = []

    def record(
        conn: object,
        cursor: object,
        statement: str,
        parameters: object,
        context: object,
        executemany: bool,
    ) -> None:
        seen.append((statement, parameters))

    engine = store.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert len(take(store, 8, Limits(max_concurrent_runs=8, per_job={"limited": 1}))) == 4
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with store.read() as conn:
        for statement, parameters in seen:
            if "runs" not in statement or statement.lstrip().upper().startswith(
                ("BEGIN", "INSERT")
            ):
                continue
            plan = " ".join(
                str(r[-1])
                for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            )  # type: ignore[arg-type]
            assert "SCAN runs" not in plan, (statement, plan)
            # The active runs are few and a LIMIT stops at the first rows; otherwise a
            # search on the status alone would read every queued run.
            if "'starting'" not in statement and "LIMIT" not in statement:
                assert "ix_runs_claim (status=?)" not in plan, (statement, plan)
