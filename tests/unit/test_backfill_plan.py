"""Backfill plans: which partitions, grouped into which runs, after which upstream runs.

Planning is pure data (no store) except for ``--missing-only``/``--failed-only``, which
read the stored partition status; those run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from lockgate.definitions import Definitions
from lockgate.errors import InvalidValueError, RequestError
from lockgate.partitions import PartitionKeyError, PartitionRangeError, partitions_for
from lockgate.partitions.backfill_plan import BackfillPlan, Selection, plan_backfill
from lockgate.partitions.status import upsert_states
from lockgate.settings import load_definitions
from lockgate.store import Store

NOW = dt.datetime(2024, 12, 1, tzinfo=dt.UTC)

ASSETS: dict[str, Any] = {
    "daily": {"command": ["true"],
              "partitions": {"cadence": "daily", "start": "2024-01-01", "timezone": "UTC"}},
    "hourly": {"command": ["true"],
               "partitions": {"cadence": "hourly", "start": "2024-03-01T00:00",
                              "end": "2024-12-01T00:00", "timezone": "America/New_York"}},
    "daily_ny": {"command": ["true"], "deps": ["hourly"],
                 "partitions": {"cadence": "daily", "start": "2024-03-01", "end": "2024-12-01",
                                "timezone": "America/New_York"}},
    "hourly_berlin": {"command": ["true"],
                      "partitions": {"cadence": "hourly", "start": "2024-10-20T00:00",
                                     "end": "2024-11-01T00:00", "timezone": "Europe/Berlin"}},
    "daily_berlin": {"command": ["true"], "deps": ["hourly_berlin"],
                     "partitions": {"cadence": "daily", "start": "2024-10-20",
                                    "end": "2024-11-01", "timezone": "Europe/Berlin"}},
    "weekly_berlin": {"command": ["true"], "deps": ["daily_berlin"],
                      "partitions": {"cadence": "weekly", "start": "2024-10-21",
                                     "timezone": "Europe/Berlin"}},
    "summary": {"command": ["true"], "deps": ["daily_berlin"]},
    "prev_day": {"command": ["true"], "deps": [{"asset": "daily_berlin", "offset": -1}],
                 "partitions": {"cadence": "daily", "start": "2024-10-20",
                                "end": "2024-11-01", "timezone": "Europe/Berlin"}},
    "raw_events": {"command": ["true"],
                   "partitions": {"cadence": "hourly", "start": "2024-03-01T00:00",
                                  "timezone": "UTC"}},
    "daily_sales": {"command": ["true"], "deps": ["raw_events"],
                    "partitions": {"cadence": "daily", "start": "2024-03-01",
                                   "timezone": "Europe/Berlin"}},
    "weekly_sales": {"command": ["true"], "deps": ["daily_sales"],
                     "partitions": {"cadence": "weekly", "start": "2024-03-04",
                                    "timezone": "Europe/Berlin"}},
    "plain": {"command": ["true"]},
    "regions": {"command": ["true"], "partitions": {"keys": ["eu", "us", "apac"]}},
}


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> Definitions:
    path = tmp_path_factory.mktemp("plan") / "lockgate.yaml"
    path.write_text(json.dumps({"storage": {"url": "sqlite:///x.db"}, "assets": ASSETS}))
    return load_definitions(path)


def plan(defs: Definitions, asset: str, conn: Any = None, **selection: Any) -> BackfillPlan:
    if "keys" in selection:
        selection["keys"] = tuple(selection["keys"])
    return plan_backfill(conn, defs, asset, Selection(**selection),
                         partition_set_of=lambda n: partitions_for(defs.assets[n].partitions),
                         now=NOW)


def spans(p: BackfillPlan, asset: str | None = None) -> list[tuple[str | None, str | None, int]]:
    return [(r.first_key, r.last_key, r.count) for r in p.runs
            if asset is None or r.asset == asset]


# -- selection ---------------------------------------------------------------------------


def test_range_includes_both_ends(defs: Definitions) -> None:
    p = plan(defs, "daily", from_key="2024-01-30", to_key="2024-02-02")
    assert p.keys["daily"] == ["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"]
    assert spans(p) == [(k, k, 1) for k in p.keys["daily"]]
    assert [r.run_key for r in p.runs] == p.keys["daily"]
    assert p.partition_count == 4


def test_range_of_one_key(defs: Definitions) -> None:
    p = plan(defs, "daily", from_key="2024-05-05", to_key="2024-05-05")
    assert p.keys["daily"] == ["2024-05-05"]


def test_partitions_list_is_ordered_like_time_and_deduplicated(defs: Definitions) -> None:
    p = plan(defs, "daily", keys=["2024-03-05", "2024-01-02", "2024-03-05", "2024-02-29"])
    assert p.keys["daily"] == ["2024-01-02", "2024-02-29", "2024-03-05"]


def test_all_is_every_partition_existing_now(defs: Definitions) -> None:
    p = plan(defs, "daily", all=True)
    assert p.keys["daily"][0] == "2024-01-01"
    assert p.keys["daily"][-1] == "2024-11-30"  # 2024-12-01 has not closed yet at NOW
    assert len(p.keys["daily"]) == 335


def test_all_hourly_with_dst_days_in_new_york(defs: Definitions) -> None:
    p = plan(defs, "hourly", from_key="2024-03-10-00:00", to_key="2024-03-10-23:00")
    assert len(p.keys["hourly"]) == 23  # 02:00 does not exist that day
    assert "2024-03-10-02:00" not in p.keys["hourly"]
    nov = plan(defs, "hourly", from_key="2024-11-03-00:00", to_key="2024-11-03-23:00")
    assert len(nov.keys["hourly"]) == 25  # 01:00 twice, with two distinct keys
    assert len(set(nov.keys["hourly"])) == 25


def test_static_partitions_plan_by_key(defs: Definitions) -> None:
    p = plan(defs, "regions", keys=["us", "eu"])
    assert p.keys["regions"] == ["eu", "us"]
    assert plan(defs, "regions", all=True).keys["regions"] == ["eu", "us", "apac"]


# -- chunks ------------------------------------------------------------------------------


def test_chunk_groups_consecutive_partitions_into_ranges(defs: Definitions) -> None:
    p = plan(defs, "daily", from_key="2024-01-01", to_key="2024-01-10", chunk=4)
    assert spans(p) == [("2024-01-01", "2024-01-04", 4), ("2024-01-05", "2024-01-08", 4),
                        ("2024-01-09", "2024-01-10", 2)]
    assert [r.run_key for r in p.runs] == ["2024-01-01..2024-01-04", "2024-01-05..2024-01-08",
                                           "2024-01-09..2024-01-10"]
    assert p.partition_count == 10 and len(p.runs) == 3


def test_chunk_never_spans_a_gap_in_a_partitions_list(defs: Definitions) -> None:
    p = plan(defs, "daily", keys=["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05",
                                  "2024-01-06"], chunk=10)
    assert spans(p) == [("2024-01-01", "2024-01-02", 2), ("2024-01-04", "2024-01-06", 3)]


def test_chunk_across_a_dst_night_counts_partitions_not_hours(defs: Definitions) -> None:
    p = plan(defs, "hourly", from_key="2024-03-10-00:00", to_key="2024-03-10-05:00", chunk=3)
    # 00, 01, 03 | 04, 05: the missing 02:00 is not a gap, it does not exist
    assert spans(p) == [("2024-03-10-00:00", "2024-03-10-03:00", 3),
                        ("2024-03-10-04:00", "2024-03-10-05:00", 2)]


# -- filters (stored status) ---------------------------------------------------------------


def _stored(store: Store, asset: str, states: dict[str, str]) -> None:
    from lockgate.runs.sql import db_time

    with store.begin() as conn:
        upsert_states(conn, [(asset, k, s, None, db_time(conn, NOW))
                             for k, s in states.items()])


def test_missing_only_and_failed_only_filter_by_stored_status(defs: Definitions,
                                                               store: Store) -> None:
    _stored(store, "daily", {"2024-01-02": "materialized", "2024-01-03": "failed",
                             "2024-01-05": "failed", "2024-01-06": "materialized"})
    with store.read() as conn:
        missing = plan(defs, "daily", conn, from_key="2024-01-01", to_key="2024-01-07",
                       missing_only=True, chunk=5)
        failed = plan(defs, "daily", conn, from_key="2024-01-01", to_key="2024-01-07",
                      failed_only=True, chunk=5)
    assert missing.keys["daily"] == ["2024-01-01", "2024-01-04", "2024-01-07"]
    # each survivor stands alone: a chunk never covers a partition the filter dropped
    assert spans(missing) == [("2024-01-01", "2024-01-01", 1), ("2024-01-04", "2024-01-04", 1),
                              ("2024-01-07", "2024-01-07", 1)]
    assert failed.keys["daily"] == ["2024-01-03", "2024-01-05"]
    assert spans(failed) == [("2024-01-03", "2024-01-03", 1), ("2024-01-05", "2024-01-05", 1)]


def test_missing_only_skips_partitions_in_progress(defs: Definitions, store: Store) -> None:
    from lockgate.definitions import RunRequest
    from lockgate.runs import request_runs

    with store.begin() as conn:
        [out] = request_runs(conn, [RunRequest(target="daily", partition_key="2024-01-02",
                                               run_key="x")],
                             origin="manual", defs=defs, now=NOW)
        conn.exec_driver_sql(f"UPDATE runs SET status = 'running' WHERE id = {out.run_id}")
    with store.read() as conn:
        p = plan(defs, "daily", conn, from_key="2024-01-01", to_key="2024-01-03",
                 missing_only=True)
    assert p.keys["daily"] == ["2024-01-01", "2024-01-03"]


def test_missing_only_skips_every_partition_of_a_running_chunked_run(defs: Definitions,
                                                                    store: Store) -> None:
    from lockgate.definitions import RunRequest
    from lockgate.runs import request_runs

    with store.begin() as conn:
        [out] = request_runs(conn, [RunRequest(
            target="daily", partition_key="2024-01-02", partition_end_key="2024-01-04",
            partition_count=3, run_key="2024-01-02..2024-01-04")],
            origin="manual", defs=defs, now=NOW)
        conn.exec_driver_sql(f"UPDATE runs SET status = 'running' WHERE id = {out.run_id}")
    with store.read() as conn:
        p = plan(defs, "daily", conn, from_key="2024-01-01", to_key="2024-01-05",
                 missing_only=True)
    assert p.keys["daily"] == ["2024-01-01", "2024-01-05"]


def test_a_filter_that_leaves_nothing_gives_an_empty_plan(defs: Definitions,
                                                          store: Store) -> None:
    with store.read() as conn:
        p = plan(defs, "daily", conn, from_key="2024-01-01", to_key="2024-01-03",
                 failed_only=True)
    assert p.keys["daily"] == [] and p.runs == []


# -- downstream ----------------------------------------------------------------------------


def test_downstream_daily_of_hourly_waits_for_its_23_hours_on_the_dst_day(
        defs: Definitions) -> None:
    # Europe/Berlin leaves summer time on 2024-10-27: that day has 25 hours.
    p = plan(defs, "hourly_berlin", from_key="2024-10-26-00:00", to_key="2024-10-28-23:00",
             downstream=True)
    assert p.assets[0] == "hourly_berlin"
    assert len(p.keys["hourly_berlin"]) == 24 + 25 + 24
    assert p.keys["daily_berlin"] == ["2024-10-26", "2024-10-27", "2024-10-28"]
    by_position = {i: r for i, r in enumerate(p.runs)}
    for r in p.runs:
        if r.asset != "daily_berlin":
            continue
        ups = [by_position[u] for u in r.upstream]
        assert {u.asset for u in ups} == {"hourly_berlin"}
        assert all(u.first_key.startswith(r.first_key) for u in ups)  # type: ignore[union-attr]
        assert len(ups) == (25 if r.first_key == "2024-10-27" else 24)
    # every upstream run comes earlier in the plan: launch order respects dependencies
    assert all(u < i for i, r in enumerate(p.runs) for u in r.upstream)


def test_downstream_on_the_spring_dst_day_depends_on_23_hours(defs: Definitions) -> None:
    p = plan(defs, "hourly", from_key="2024-03-09-00:00", to_key="2024-03-11-23:00",
             downstream=True)
    assert p.keys["daily_ny"] == ["2024-03-09", "2024-03-10", "2024-03-11"]
    sizes = {r.first_key: len(r.upstream) for r in p.runs if r.asset == "daily_ny"}
    assert sizes == {"2024-03-09": 24, "2024-03-10": 23, "2024-03-11": 24}


def test_downstream_chain_orders_assets_after_their_upstreams(defs: Definitions) -> None:
    p = plan(defs, "hourly_berlin", from_key="2024-10-21-00:00", to_key="2024-10-27-23:00",
             downstream=True)
    order = list(p.assets)
    assert order[0] == "hourly_berlin"
    for name in order:
        for dep in defs.assets[name].deps:
            if dep.asset in order:
                assert order.index(dep.asset) < order.index(name)
    assert p.keys["weekly_berlin"] == ["2024-10-21"]
    [week] = [r for r in p.runs if r.asset == "weekly_berlin"]
    assert {p.runs[u].first_key for u in week.upstream} == {
        f"2024-10-{d}" for d in range(21, 28)}
    # the unpartitioned summary reads every day (10-20 .. 10-31); five are not covered
    assert not [r for r in p.runs if r.asset == "summary"]
    [skipped] = [s for s in p.skipped if s.asset == "summary"]
    assert skipped.key is None and skipped.missing == {"daily_berlin": 5}


def test_unpartitioned_downstream_waits_for_every_planned_run_when_the_rest_is_stored(
        defs: Definitions, store: Store) -> None:
    _stored(store, "daily_berlin", {f"2024-10-{d}": "materialized" for d in (20, 28, 29, 30,
                                                                              31)})
    with store.read() as conn:
        p = plan(defs, "hourly_berlin", conn, from_key="2024-10-21-00:00",
                 to_key="2024-10-27-23:00", downstream=True)
    [summary] = [r for r in p.runs if r.asset == "summary"]
    assert summary.first_key is None and summary.run_key == "summary"
    assert {p.runs[u].asset for u in summary.upstream} == {"daily_berlin"}
    assert len(summary.upstream) == 7
    assert p.skipped == ()


def test_downstream_with_offset_depends_on_the_previous_day(defs: Definitions) -> None:
    p = plan(defs, "hourly_berlin", from_key="2024-10-22-00:00", to_key="2024-10-22-23:00",
             downstream=True)
    assert p.keys["daily_berlin"] == ["2024-10-22"]
    assert p.keys["prev_day"] == ["2024-10-23"]  # 10-23 reads the day before it
    [prev] = [r for r in p.runs if r.asset == "prev_day"]
    assert [p.runs[u].first_key for u in prev.upstream] == ["2024-10-22"]


def test_chunked_downstream_runs_wait_for_every_upstream_chunk_they_overlap(
        defs: Definitions) -> None:
    p = plan(defs, "hourly_berlin", from_key="2024-10-26-00:00", to_key="2024-10-27-23:00",
             downstream=True, chunk=10)
    daily = [r for r in p.runs if r.asset == "daily_berlin"]
    assert [(r.first_key, r.last_key) for r in daily] == [("2024-10-26", "2024-10-27")]
    hourly = [i for i, r in enumerate(p.runs) if r.asset == "hourly_berlin"]
    assert len(hourly) == 5  # 49 hours in chunks of 10
    assert daily[0].upstream == tuple(hourly)


def test_downstream_partitions_only_partly_covered_upstream_are_skipped_not_planned(
        defs: Definitions) -> None:
    # Berlin's 03-29 starts at 03-28 23:00 UTC (not in the range); its 04-01 starts at
    # 03-31 22:00 UTC, so the range holds 2 of its 24 hours. 03-31 has 23 hours (DST).
    p = plan(defs, "raw_events", from_key="2024-03-29-00:00", to_key="2024-03-31-23:00",
             downstream=True)
    assert p.keys["daily_sales"] == ["2024-03-30", "2024-03-31"]
    assert [(r.first_key, len(r.upstream)) for r in p.runs if r.asset == "daily_sales"] == [
        ("2024-03-30", 24), ("2024-03-31", 23)]
    assert [(s.asset, s.key, s.missing) for s in p.skipped] == [
        ("daily_sales", "2024-03-29", {"raw_events": 1}),
        ("daily_sales", "2024-04-01", {"raw_events": 22}),
        ("weekly_sales", "2024-03-25", {"daily_sales": 5})]
    assert p.summary()["skipped"][:2] == [
        {"asset": "daily_sales", "key": "2024-03-29", "reason": "upstream incomplete",
         "missing": 1, "missing_upstream": {"raw_events": 1}},
        {"asset": "daily_sales", "key": "2024-04-01", "reason": "upstream incomplete",
         "missing": 22, "missing_upstream": {"raw_events": 22}}]
    # the week 03-25 .. 03-31 needs five days this plan does not build: skipped as well
    assert p.keys["weekly_sales"] == []


def test_stored_upstream_partitions_complete_a_downstream_partition(defs: Definitions,
                                                                     store: Store) -> None:
    _stored(store, "raw_events", {"2024-03-28-23:00": "materialized",
                                  "2024-03-31-21:00": "failed"})
    _stored(store, "daily_sales", {f"2024-03-{d}": "materialized" for d in range(25, 29)})
    with store.read() as conn:
        p = plan(defs, "raw_events", conn, from_key="2024-03-29-00:00",
                 to_key="2024-03-31-20:00", downstream=True)
    assert p.keys["daily_sales"] == ["2024-03-29", "2024-03-30"]
    # 03-31 lacks 21:00: a failed partition is not a materialized one
    # the week has 03-25 .. 03-28 stored and 03-29, 03-30 planned; its 03-31 is skipped
    assert [(s.asset, s.key, s.missing) for s in p.skipped] == [
        ("daily_sales", "2024-03-31", {"raw_events": 1}),
        ("weekly_sales", "2024-03-25", {"daily_sales": 1})]
    assert p.keys["weekly_sales"] == []


def test_summary_lists_counts_first_last_and_runs_per_asset(defs: Definitions) -> None:
    p = plan(defs, "hourly_berlin", from_key="2024-10-27-00:00", to_key="2024-10-27-23:00",
             downstream=True, chunk=5)
    s = p.summary()
    assert s["partitions"] == p.partition_count and s["runs"] == len(p.runs)
    first = s["assets"][0]
    assert first == {"asset": "hourly_berlin", "partitions": 25,
                     "first": "2024-10-27-00:00", "last": "2024-10-27-23:00", "runs": 5}
    assert s["selection"]["chunk"] == 5 and s["selection"]["downstream"] is True


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("asset", "selection", "words"), [
    ("dayly", {"all": True}, ["'dayly'", "did you mean", "daily"]),
    ("plain", {"from_key": "2024-01-01", "to_key": "2024-01-02"},
     ["'plain'", "not partitioned", "lockgate trigger plain"]),
    ("daily", {}, ["exactly one of", "--from", "--partitions", "--all"]),
    ("daily", {"all": True, "keys": ("2024-01-01",)}, ["exactly one of", "--partitions and --all"]),
    ("daily", {"from_key": "2024-01-01"}, ["both --from and --to"]),
    ("daily", {"all": True, "missing_only": True, "failed_only": True},
     ["at most one of --missing-only and --failed-only"]),
    ("daily", {"all": True, "chunk": 0}, ["--chunk 0", "at least 1"]),
    ("daily", {"keys": ()}, ["--partitions is empty"]),
])
def test_bad_selections_are_usage_errors_naming_the_fix(
        defs: Definitions, asset: str, selection: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(RequestError) as info:
        plan(defs, asset, **selection)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_reversed_range_says_to_swap(defs: Definitions) -> None:
    with pytest.raises(PartitionRangeError, match=r"reversed.*swap"):
        plan(defs, "daily", from_key="2024-02-01", to_key="2024-01-01")


@pytest.mark.parametrize(("key", "words"), [
    ("2023-12-31", ["'2023-12-31'", "2024-01-01 .. 2024-11-30"]),
    ("2025-06-01", ["'2025-06-01'", "2024-01-01 .. 2024-11-30"]),
    ("01/02/2024", ["'01/02/2024'", "expected", "2024-01-01 .. 2024-11-30"]),
])
def test_keys_outside_the_set_or_in_another_format_name_the_valid_range(
        defs: Definitions, key: str, words: list[str]) -> None:
    for selection in ({"from_key": key, "to_key": "2024-03-01"},
                      {"from_key": "2024-01-01", "to_key": key}, {"keys": [key]}):
        if selection.get("from_key") == key and key > "2024-03-01":
            continue  # reversed as well; the range error is checked above
        with pytest.raises(PartitionKeyError) as info:
            plan(defs, "daily", **selection)
        for word in words:
            assert word in str(info.value), str(info.value)


def test_filters_need_the_store(defs: Definitions) -> None:
    with pytest.raises(InvalidValueError, match="need the store"):
        plan(defs, "daily", all=True, missing_only=True)

