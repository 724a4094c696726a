"""The asset sensor over unpartitioned assets, and what it asks again, on SQLite and
PostgreSQL.

An unpartitioned asset has one implicit partition: each successful run materializes it
again, and ``wait_for: all`` counts it like any other upstream partition. A target
partition rebuilt after the upstream changes it reads is not asked for again.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lockgate.definitions import Definitions, RunRequest
from lockgate.partitions.status import record_outcomes
from lockgate.runs import request_runs
from lockgate.runs.queue import AttemptResult
from lockgate.runs.sql import sql_literal
from lockgate.sensors.assets import evaluate_asset_sensor
from lockgate.settings import load_definitions
from lockgate.store import Store

NOW = dt.datetime(2024, 1, 3, tzinfo=dt.UTC)
DAYS = {"cadence": "daily", "start": "2024-01-01", "timezone": "UTC"}


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> Definitions:
    path = tmp_path_factory.mktemp("sensor") / "lockgate.yaml"
    path.write_text(json.dumps({"storage": {"url": "sqlite:///x.db"}, "assets": {
        "rates": {"command": ["true"]},
        "daily": {"command": ["true"], "partitions": DAYS},
        "report": {"command": ["true"], "partitions": DAYS, "deps": ["daily", "rates"]},
        "summary": {"command": ["true"], "deps": ["daily", "rates"]},
        "copy": {"command": ["true"], "partitions": DAYS, "deps": ["daily"]},
    }, "sensors": {
        "copy_ready": {"kind": "asset", "assets": ["daily"], "target": "copy"},
        "report_ready": {"kind": "asset", "assets": ["daily", "rates"], "target": "report",
                         "wait_for": "all"},
        "summary_ready": {"kind": "asset", "assets": ["daily", "rates"], "target": "summary",
                          "wait_for": "all"},
        "rates_changed": {"kind": "asset", "assets": ["rates"], "target": "summary"},
    }}))
    return load_definitions(path)


def materialize(store: Store, defs: Definitions, target: str, key: str | None = None,
                at: dt.datetime = NOW) -> int:
    with store.begin() as conn:
        [out] = request_runs(conn, [RunRequest(target=target, partition_key=key)],
                             origin="manual", defs=defs, now=at)
        conn.exec_driver_sql("UPDATE runs SET status = 'succeeded', started_at = "
                             f"{sql_literal(conn, at)} WHERE id = {out.run_id}")
        record_outcomes(conn, defs, [(AttemptResult(run_id=out.run_id, attempt=1,
                                                    status="succeeded"), True)], at)
    return out.run_id


def evaluate(store: Store, defs: Definitions, name: str, cursor: str | None = None):
    with store.read() as conn:
        return evaluate_asset_sensor(conn, defs, defs.sensors[name], cursor, NOW)


def test_wait_for_all_counts_an_unpartitioned_upstream(store: Store,
                                                       defs: Definitions) -> None:
    materialize(store, defs, "daily", "2024-01-01")
    assert not evaluate(store, defs, "report_ready").requests  # rates never materialized
    materialize(store, defs, "rates")
    [req] = evaluate(store, defs, "report_ready").requests
    assert (req.target, req.partition_key) == ("report", "2024-01-01")


def test_an_unpartitioned_target_with_wait_for_all_waits_for_every_upstream_partition(
        store: Store, defs: Definitions) -> None:
    materialize(store, defs, "rates")
    materialize(store, defs, "daily", "2024-01-01")
    assert not evaluate(store, defs, "summary_ready").requests  # 2024-01-02 is missing
    materialize(store, defs, "daily", "2024-01-02")
    [req] = evaluate(store, defs, "summary_ready").requests
    assert req.target == "summary"


def test_each_run_of_an_unpartitioned_upstream_asks_for_a_new_downstream_run(
        store: Store, defs: Definitions) -> None:
    materialize(store, defs, "rates")
    first = evaluate(store, defs, "rates_changed")
    [again] = evaluate(store, defs, "rates_changed", first.cursor).requests
    assert again.run_key == first.requests[0].run_key  # a replayed tick: the same run
    materialize(store, defs, "rates", at=NOW + dt.timedelta(minutes=5))
    [second] = evaluate(store, defs, "rates_changed", first.cursor).requests
    assert second.run_key != first.requests[0].run_key


def test_a_target_partition_rebuilt_after_its_upstream_changed_is_not_asked_again(
        store: Store, defs: Definitions) -> None:
    minute = dt.timedelta(minutes=1)
    materialize(store, defs, "daily", "2024-01-01")
    materialize(store, defs, "copy", "2024-01-01", at=NOW + minute)  # e.g. by a backfill
    seen = evaluate(store, defs, "copy_ready")
    assert not seen.requests and "rebuilt after" in (seen.skip_reason or "")
    materialize(store, defs, "daily", "2024-01-01", at=NOW + 2 * minute)
    [req] = evaluate(store, defs, "copy_ready", seen.cursor).requests
    assert req.partition_key == "2024-01-01"


def test_an_unpartitioned_target_rebuilt_after_its_upstream_changed_is_not_asked_again(
        store: Store, defs: Definitions) -> None:
    minute = dt.timedelta(minutes=1)
    materialize(store, defs, "rates")
    materialize(store, defs, "summary", at=NOW + minute)
    assert not evaluate(store, defs, "rates_changed").requests
    materialize(store, defs, "rates", at=NOW + 2 * minute)
    assert evaluate(store, defs, "rates_changed").requests
