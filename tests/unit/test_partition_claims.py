"""One open materialization request per asset partition, on SQLite and PostgreSQL.

A run of an asset claims the partitions it covers; while it is waiting, queued or
running, a request for any of them from any origin (a sensor, a schedule, a backfill,
by hand) is absorbed into it, and a range keeps only what nobody holds.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from lockgate.definitions import Definitions, RunRequest
from lockgate.partitions import partitions_for
from lockgate.partitions.backfill_launch import launch_backfill
from lockgate.partitions.backfill_plan import Selection, plan_backfill
from lockgate.runs import request_runs
from lockgate.settings import load_definitions
from lockgate.store import Store

NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
DAYS = {"cadence": "daily", "start": "2024-03-01", "timezone": "Europe/Berlin"}


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> Definitions:
    path = tmp_path_factory.mktemp("claims") / "lockgate.yaml"
    path.write_text(json.dumps({"storage": {"url": "sqlite:///x.db"}, "jobs": {
        "plain": {"command": ["true"]}}, "assets": {
        "raw_events": {"command": ["true"], "partitions": {
            "cadence": "hourly", "start": "2024-03-01T00:00", "timezone": "UTC"}},
        "daily_sales": {"command": ["true"], "deps": ["raw_events"], "partitions": DAYS},
        "summary": {"command": ["true"]},
    }}))
    return load_definitions(path)


def ask(store: Store, defs: Definitions, origin: str, *reqs: RunRequest) -> list[Any]:
    with store.begin() as conn:
        return request_runs(conn, list(reqs), origin=origin, defs=defs, now=NOW)


def backfill(store: Store, defs: Definitions, asset: str, **selection: Any) -> dict[str, Any]:
    with store.begin() as conn:
        plan = plan_backfill(conn, defs, asset, Selection(**selection),
                             partition_set_of=lambda n: partitions_for(defs.assets[n].partitions),
                             now=NOW)
        return launch_backfill(conn, plan, defs, now=NOW)


def runs_of(store: Store, target: str) -> list[tuple[Any, ...]]:
    with store.read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT id, origin, partition_key, partition_end_key, partition_count, status "
            f"FROM runs WHERE target = '{target}' ORDER BY partition_key, id")]


def set_status(store: Store, run_id: int, status: str) -> None:
    with store.begin() as conn:
        conn.exec_driver_sql(f"UPDATE runs SET status = '{status}' WHERE id = {run_id}")


def key_run(store: Store, origin: str, key: str) -> int:
    with store.read() as conn:
        return int(conn.exec_driver_sql(
            f"SELECT run_id FROM run_keys WHERE origin = '{origin}' AND run_key = '{key}'"
        ).scalar_one())


def test_a_sensor_request_for_a_partition_a_backfill_will_build_is_absorbed(
        store: Store, defs: Definitions) -> None:
    info = backfill(store, defs, "raw_events", from_key="2024-03-29-23:00",
                    to_key="2024-03-30-22:00", downstream=True)
    [(day_run, origin, *_rest)] = runs_of(store, "daily_sales")
    assert origin == f"backfill:{info['backfill_id']}"
    [out] = ask(store, defs, "sensor:sales_ready",
                RunRequest(target="daily_sales", run_key="2024-03-30",
                           partition_key="2024-03-30"))
    assert (out.created, out.run_id) == (False, day_run)
    assert key_run(store, "sensor:sales_ready", "2024-03-30") == day_run
    assert len(runs_of(store, "daily_sales")) == 1
    # once that run has finished, a new request is a new run
    set_status(store, day_run, "succeeded")
    [again] = ask(store, defs, "sensor:sales_ready",
                  RunRequest(target="daily_sales", run_key="2024-03-30b",
                             partition_key="2024-03-30"))
    assert again.created and again.run_id != day_run


def test_a_backfill_absorbs_partitions_an_open_sensor_run_holds_and_waits_for_it(
        store: Store, defs: Definitions) -> None:
    [sensor_run] = ask(store, defs, "sensor:sales_ready",
                       RunRequest(target="daily_sales", run_key="2024-03-30",
                                  partition_key="2024-03-30"))
    info = backfill(store, defs, "raw_events", from_key="2024-03-28-23:00",
                    to_key="2024-03-31-21:00", downstream=True, chunk=100)
    days = runs_of(store, "daily_sales")
    # the chunk 03-29 .. 03-31 keeps the two days nobody holds, as two runs
    assert [(r[2], r[3], r[4]) for r in days] == [
        ("2024-03-29", None, 1), ("2024-03-30", None, 1), ("2024-03-31", None, 1)]
    assert [r[0] for r in days if r[2] == "2024-03-30"] == [sensor_run.run_id]
    assert info["runs"] == 1 + 2  # the hours in one run, two days
    with store.read() as conn:
        deps = {tuple(r) for r in conn.exec_driver_sql(
            "SELECT run_id, upstream_run_id FROM run_deps")}
        [(recorded,)] = conn.exec_driver_sql("SELECT run_count FROM backfills").all()
    [hours] = runs_of(store, "raw_events")
    own_days = [r[0] for r in days if r[0] != sensor_run.run_id]
    assert deps == {(d, hours[0]) for d in own_days}
    assert recorded == 3


def test_a_partition_inside_a_running_chunk_is_not_run_again(store: Store,
                                                             defs: Definitions) -> None:
    [chunk] = ask(store, defs, "manual", RunRequest(
        target="daily_sales", run_key="r", partition_key="2024-03-10",
        partition_end_key="2024-03-14", partition_count=5))
    set_status(store, chunk.run_id, "running")
    [inside] = ask(store, defs, "schedule:nightly", RunRequest(
        target="daily_sales", run_key="2024-03-12", partition_key="2024-03-12"))
    [overlap] = ask(store, defs, "manual", RunRequest(
        target="daily_sales", run_key="o", partition_key="2024-03-13",
        partition_end_key="2024-03-16", partition_count=4))
    assert (inside.created, inside.run_id) == (False, chunk.run_id)
    assert overlap.created
    rows = runs_of(store, "daily_sales")
    assert [(r[2], r[3], r[4]) for r in rows] == [
        ("2024-03-10", "2024-03-14", 5), ("2024-03-15", "2024-03-16", 2)]


def test_an_unpartitioned_asset_has_one_open_request_and_jobs_are_not_claimed(
        store: Store, defs: Definitions) -> None:
    first, second = (ask(store, defs, "manual", RunRequest(target="summary"))[0]
                     for _ in range(2))
    assert first.created and (second.created, second.run_id) == (False, first.run_id)
    jobs = [ask(store, defs, "manual", RunRequest(target="plain"))[0] for _ in range(2)]
    assert all(j.created for j in jobs) and jobs[0].run_id != jobs[1].run_id
    set_status(store, first.run_id, "failed")
    [third] = ask(store, defs, "manual", RunRequest(target="summary"))
    assert third.created


def test_one_batch_asking_twice_for_a_partition_creates_one_run(store: Store,
                                                                defs: Definitions) -> None:
    outs = ask(store, defs, "sensor:s",
               RunRequest(target="daily_sales", run_key="a", partition_key="2024-04-01"),
               RunRequest(target="daily_sales", run_key="b", partition_key="2024-04-01"))
    assert [o.created for o in outs] == [True, False]
    assert outs[0].run_id == outs[1].run_id
    assert len(runs_of(store, "daily_sales")) == 1
