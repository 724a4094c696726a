"""Partition status from finished runs, on SQLite and PostgreSQL.

A succeeded run marks every partition it covered materialized, a failed one failed, a
canceled one changes nothing; in_progress comes from active runs, missing is the absence.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lockgate.definitions import Definitions, RunRequest
from lockgate.partitions import partitions_for
from lockgate.partitions.status import (
    FAILED,
    IN_PROGRESS,
    MATERIALIZED,
    MISSING,
    UNPARTITIONED_KEY,
    PartitionState,
    collapse,
    load_states,
    record_outcomes,
)
from lockgate.runs import request_runs
from lockgate.runs.queue import AttemptResult
from lockgate.settings import load_definitions
from lockgate.store import Store

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> Definitions:
    path = tmp_path_factory.mktemp("status") / "lockgate.yaml"
    path.write_text(json.dumps({"storage": {"url": "sqlite:///x.db"}, "jobs": {
        "plain": {"command": ["true"]}}, "assets": {
        "daily": {"command": ["true"],
                  "partitions": {"cadence": "daily", "start": "2024-01-01", "timezone": "UTC"}},
        "hourly": {"command": ["true"],
                   "partitions": {"cadence": "hourly", "start": "2024-03-10T00:00",
                                  "end": "2024-03-11T00:00", "timezone": "America/New_York"}},
        "unpart": {"command": ["true"]},
    }}))
    return load_definitions(path)


def queue(store: Store, defs: Definitions, target: str, first: str | None = None,
          last: str | None = None, count: int | None = None) -> int:
    with store.begin() as conn:
        [out] = request_runs(conn, [RunRequest(target=target, partition_key=first,
                                               partition_end_key=last, partition_count=count)],
                             origin="manual", defs=defs, now=NOW)
    return out.run_id


def finish(store: Store, defs: Definitions, run_id: int, status: str, *,
           final: bool = True, now: dt.datetime = LATER) -> None:
    with store.begin() as conn:
        conn.exec_driver_sql(f"UPDATE runs SET status = '{status}' WHERE id = {run_id}")
        record_outcomes(conn, defs, [(AttemptResult(run_id=run_id, attempt=1, status=status),
                                      final)], now)


def states(store: Store, defs: Definitions, asset: str, keys: list[str] | None = None
           ) -> dict[str, PartitionState]:
    pset = partitions_for(defs.assets[asset].partitions)
    keys = keys if keys is not None else pset.keys(NOW)
    with store.read() as conn:
        return {s.key: s for s in load_states(conn, asset, pset, keys, NOW)}


def test_every_partition_is_missing_before_any_run(store: Store, defs: Definitions) -> None:
    got = states(store, defs, "daily")
    assert len(got) == 152  # 2024-01-01 .. 2024-05-31
    assert {s.status for s in got.values()} == {MISSING}
    assert all(s.run_id is None and s.updated_at is None for s in got.values())


def test_a_succeeded_run_materializes_its_partition_with_run_id_and_time(
        store: Store, defs: Definitions) -> None:
    run_id = queue(store, defs, "daily", "2024-02-01")
    finish(store, defs, run_id, "succeeded")
    s = states(store, defs, "daily")["2024-02-01"]
    assert (s.status, s.run_id, s.updated_at) == (MATERIALIZED, run_id, LATER)
    assert s.to_json() == {"key": "2024-02-01", "status": "materialized", "run_id": run_id,
                           "updated_at": "2024-06-01T13:00:00Z"}
    assert states(store, defs, "daily")["2024-02-02"].status == MISSING


def test_a_chunked_run_covers_its_whole_range(store: Store, defs: Definitions) -> None:
    run_id = queue(store, defs, "daily", "2024-02-27", "2024-03-02", 5)
    finish(store, defs, run_id, "succeeded")
    got = states(store, defs, "daily")
    covered = [k for k, s in got.items() if s.status == MATERIALIZED]
    assert covered == ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01", "2024-03-02"]
    assert {got[k].run_id for k in covered} == {run_id}


def test_a_chunked_run_over_a_dst_night_covers_the_hours_that_exist(
        store: Store, defs: Definitions) -> None:
    run_id = queue(store, defs, "hourly", "2024-03-10-00:00", "2024-03-10-05:00", 5)
    finish(store, defs, run_id, "failed")
    got = states(store, defs, "hourly")
    assert [k for k, s in got.items() if s.status == FAILED] == [
        "2024-03-10-00:00", "2024-03-10-01:00", "2024-03-10-03:00", "2024-03-10-04:00",
        "2024-03-10-05:00"]


def test_a_failed_run_marks_failed_and_a_later_success_replaces_it(
        store: Store, defs: Definitions) -> None:
    first = queue(store, defs, "daily", "2024-01-10")
    finish(store, defs, first, "failed")
    assert states(store, defs, "daily")["2024-01-10"].status == FAILED
    second = queue(store, defs, "daily", "2024-01-10")
    finish(store, defs, second, "succeeded", now=LATER + dt.timedelta(minutes=5))
    s = states(store, defs, "daily")["2024-01-10"]
    assert (s.status, s.run_id) == (MATERIALIZED, second)
    assert s.updated_at == LATER + dt.timedelta(minutes=5)


def test_a_canceled_run_changes_nothing(store: Store, defs: Definitions) -> None:
    ok = queue(store, defs, "daily", "2024-01-10")
    finish(store, defs, ok, "succeeded")
    canceled = queue(store, defs, "daily", "2024-01-10", "2024-01-11", 2)
    finish(store, defs, canceled, "canceled")
    got = states(store, defs, "daily")
    assert (got["2024-01-10"].status, got["2024-01-10"].run_id) == (MATERIALIZED, ok)
    assert got["2024-01-11"].status == MISSING


def test_an_attempt_that_will_be_retried_changes_nothing(store: Store,
                                                         defs: Definitions) -> None:
    run_id = queue(store, defs, "daily", "2024-01-10")
    finish(store, defs, run_id, "failed", final=False)
    assert states(store, defs, "daily")["2024-01-10"].status == MISSING


def test_runs_of_jobs_write_no_status(store: Store, defs: Definitions) -> None:
    finish(store, defs, queue(store, defs, "plain"), "succeeded")
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM partition_status").scalar() == 0


def test_an_unpartitioned_asset_has_the_status_of_its_one_implicit_partition(
        store: Store, defs: Definitions) -> None:
    first = queue(store, defs, "unpart")
    finish(store, defs, first, "succeeded")
    second = queue(store, defs, "unpart")
    finish(store, defs, second, "failed", now=LATER + dt.timedelta(minutes=1))
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT asset, partition_key, status, run_id FROM partition_status").all()
    assert [tuple(r) for r in rows] == [("unpart", UNPARTITIONED_KEY, FAILED, second)]
    third = queue(store, defs, "unpart")
    finish(store, defs, third, "canceled")  # changes nothing
    finish(store, defs, queue(store, defs, "unpart"), "succeeded")
    with store.read() as conn:
        [(status,)] = conn.exec_driver_sql("SELECT status FROM partition_status").all()
    assert status == MATERIALIZED


def test_in_progress_comes_from_active_runs_and_covers_their_range(
        store: Store, defs: Definitions) -> None:
    done = queue(store, defs, "daily", "2024-01-01")
    finish(store, defs, done, "succeeded")
    running = queue(store, defs, "daily", "2024-01-01", "2024-01-03", 3)
    queued = queue(store, defs, "daily", "2024-01-05")
    with store.begin() as conn:
        conn.exec_driver_sql(f"UPDATE runs SET status = 'running' WHERE id = {running}")
    got = states(store, defs, "daily")
    assert [(k, got[k].status, got[k].run_id) for k in
            ("2024-01-01", "2024-01-02", "2024-01-03")] == [
        ("2024-01-01", IN_PROGRESS, running), ("2024-01-02", IN_PROGRESS, running),
        ("2024-01-03", IN_PROGRESS, running)]
    assert got["2024-01-05"].status == MISSING  # queued is not in progress
    assert queued
    finish(store, defs, running, "succeeded")
    got = states(store, defs, "daily")
    assert {got[k].status for k in ("2024-01-01", "2024-01-02", "2024-01-03")} == {MATERIALIZED}


def test_load_states_keeps_the_order_of_the_keys_asked(store: Store, defs: Definitions) -> None:
    keys = ["2024-01-03", "2024-01-01", "2024-01-02"]
    assert [s.key for s in states(store, defs, "daily", keys).values()] == keys


def test_many_finished_runs_in_one_batch(store: Store, defs: Definitions) -> None:
    pset = partitions_for(defs.assets["daily"].partitions)
    keys = pset.keys(NOW)[:120]
    with store.begin() as conn:
        outs = request_runs(conn, [RunRequest(target="daily", partition_key=k) for k in keys],
                            origin="manual", defs=defs, now=NOW)
        applied = [(AttemptResult(run_id=o.run_id, attempt=1,
                                  status="succeeded" if i % 3 else "failed"), True)
                   for i, o in enumerate(outs)]
        record_outcomes(conn, defs, applied, LATER)
    got = states(store, defs, "daily", keys)
    assert [got[k].status for k in keys] == [
        MATERIALIZED if i % 3 else FAILED for i in range(len(keys))]


def _state(key: str, status: str) -> PartitionState:
    return PartitionState(key, status, None, None)


def test_collapse_joins_consecutive_keys_with_one_status() -> None:
    seq = ([_state(f"2024-01-{d:02d}", MATERIALIZED) for d in range(1, 11)]
           + [_state("2024-01-11", FAILED)]
           + [_state(f"2024-01-{d:02d}", MISSING) for d in range(12, 15)]
           + [_state("2024-01-15", MATERIALIZED)])
    assert collapse(seq) == [("2024-01-01", "2024-01-10", MATERIALIZED, 10),
                             ("2024-01-11", "2024-01-11", FAILED, 1),
                             ("2024-01-12", "2024-01-14", MISSING, 3),
                             ("2024-01-15", "2024-01-15", MATERIALIZED, 1)]
    assert collapse([]) == []


def test_json_of_a_missing_partition_has_nulls() -> None:
    assert _state("2024-01-01", MISSING).to_json() == {
        "key": "2024-01-01", "status": "missing", "run_id": None, "updated_at": None}

