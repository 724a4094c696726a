"""Schedule evaluation on SQLite and PostgreSQL with an injected clock.

A daemon that is killed and restarted is simulated by calling ``evaluate_schedule`` at
later ``now``s: whatever fire times lie between the schedule's horizon and ``now`` are
what the restarted daemon finds. Every test reads back the tick rows and the runs the
store holds, not only what the call returned.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from lockgate.daemon.schedules import MAX_MISSED_DETAIL, TickDecision, evaluate_schedule
from lockgate.daemon.ticks import list_ticks, set_paused
from lockgate.definitions import (
    Asset,
    Catchup,
    Definitions,
    DstAmbiguous,
    Job,
    Overlap,
    PartitionsSpec,
    Schedule,
)
from lockgate.runs import get_run
from lockgate.store import Store
from lockgate.store.tables import runs, trigger_state
from lockgate.time.fire_times import FireTime

UTC = dt.UTC
JOB = Job(name="etl", command=("true",))
SECOND = dt.timedelta(seconds=1)
HOUR = dt.timedelta(hours=1)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def daily_berlin(start: str = "2024-01-01") -> Asset:
    return Asset(name="daily_sales", job=JOB, partitions=PartitionsSpec(
        cadence="daily", start=dt.datetime.fromisoformat(start), timezone="Europe/Berlin"))


def make_defs(*schedules: Schedule, assets: tuple[Asset, ...] = ()) -> Definitions:
    return Definitions(storage_url="unused", jobs={"etl": JOB},
                       assets={a.name: a for a in assets},
                       schedules={s.name: s for s in schedules})


def hourly(**options: Any) -> Schedule:
    return Schedule(name="hourly", cron="0 * * * *", target="etl", **options)


def evaluate(store: Store, defs: Definitions, schedule: Schedule, now: str,
             **kwargs: Any) -> list[TickDecision]:
    return evaluate_schedule(store, defs, schedule, now=utc(now), lease=None, **kwargs)


def all_ticks(store: Store, name: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        return list_ticks(conn, name, limit=100_000)


def ticks_by_instant(store: Store, name: str, *, summaries: int = 0
                     ) -> dict[dt.datetime, dict[str, Any]]:
    """Tick rows by instant; ``summaries``: how many rows without an instant to expect."""
    rows = all_ticks(store, name)
    assert len([r for r in rows if r["scheduled_for"] is None]) == summaries
    instants = [r["scheduled_for"] for r in rows if r["scheduled_for"] is not None]
    assert len(instants) == len(set(instants)), "an instant was recorded twice"
    return {r["scheduled_for"]: r for r in rows if r["scheduled_for"] is not None}


def schedule_runs(store: Store, name: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, run_key, partition_key, status, cancel_requested FROM runs "
            f"WHERE origin = 'schedule:{name}' ORDER BY id").all()
    return [dict(r._mapping) for r in rows]


def set_status(store: Store, run_id: int, status: str) -> None:
    with store.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(status=status))


# -- partitions: a nightly Berlin schedule asks for yesterday ---------------------------------

def test_nightly_berlin_schedule_requests_yesterdays_partition_also_on_dst_nights(
        store: Store) -> None:
    nightly = Schedule(name="nightly", cron="0 2 * * *", target="daily_sales",
                       timezone="Europe/Berlin")
    defs = make_defs(nightly, assets=(daily_berlin(),))
    assert evaluate(store, defs, nightly, "2024-03-29T12:00") == []  # first seen
    expected = {  # evaluated a few seconds after each instant
        "2024-03-30T01:00": "2024-03-29",  # 02:00 CET
        "2024-03-31T01:00": "2024-03-30",  # 02:00 does not exist: 03:00 CEST
        "2024-04-01T00:00": "2024-03-31",  # 02:00 CEST, after a 23-hour day
    }
    for instant, partition in expected.items():
        [decision] = evaluate(store, defs, nightly, instant + ":05")
        assert decision.run and decision.created
        assert decision.partition_key == partition
    with store.read() as conn:
        got = [get_run(conn, r["id"]) for r in schedule_runs(store, "nightly")]
    assert [(r.run_key, r.partition_key, r.target) for r in got] == [
        (f"nightly:{i}:00Z", p, "daily_sales") for i, p in expected.items()]
    dst_night = got[1].trigger["schedule"]
    assert dst_night["scheduled_for"] == "2024-03-31T01:00:00Z"
    assert "does not exist" in dst_night["dst"]
    assert got[0].trigger["schedule"]["dst"] is None


def test_partition_offset_shifts_the_requested_partition(store: Store) -> None:
    nightly = Schedule(name="nightly", cron="0 2 * * *", target="daily_sales",
                       timezone="Europe/Berlin", partition_offset=-2)
    defs = make_defs(nightly, assets=(daily_berlin(),))
    evaluate(store, defs, nightly, "2024-06-09T12:00")
    [decision] = evaluate(store, defs, nightly, "2024-06-10T00:00:03")
    assert decision.partition_key == "2024-06-07"  # yesterday was 06-09; two before it


def test_tick_before_the_first_partition_closed_is_skipped_with_a_reason(store: Store) -> None:
    nightly = Schedule(name="nightly", cron="0 2 * * *", target="daily_sales",
                       timezone="Europe/Berlin")
    defs = make_defs(nightly, assets=(daily_berlin(start="2024-06-10"),))
    evaluate(store, defs, nightly, "2024-06-09T12:00")
    [early] = evaluate(store, defs, nightly, "2024-06-10T00:00:03")  # 02:00 on the first day
    assert not early.run and early.run_ids == ()
    assert "no partition of 'daily_sales' has closed yet" in (early.reason or "")
    [next_day] = evaluate(store, defs, nightly, "2024-06-11T00:00:03")
    assert next_day.run and next_day.partition_key == "2024-06-10"
    rows = ticks_by_instant(store, "nightly")
    assert rows[utc("2024-06-10T00:00")]["status"] == "skipped"
    assert "has closed yet" in rows[utc("2024-06-10T00:00")]["skip_reason"]
    assert [r["partition_key"] for r in schedule_runs(store, "nightly")] == ["2024-06-10"]


def test_offset_before_the_first_partition_is_skipped_with_a_reason(store: Store) -> None:
    nightly = Schedule(name="nightly", cron="0 2 * * *", target="daily_sales",
                       timezone="Europe/Berlin", partition_offset=-1)
    defs = make_defs(nightly, assets=(daily_berlin(start="2024-06-10"),))
    evaluate(store, defs, nightly, "2024-06-10T12:00")
    [decision] = evaluate(store, defs, nightly, "2024-06-11T00:00:03")
    assert not decision.run and "partition_offset -1" in (decision.reason or "")
    assert schedule_runs(store, "nightly") == []


def test_dst_both_fires_two_runs_with_distinct_keys(store: Store) -> None:
    twice = Schedule(name="twice", cron="30 1 * * *", target="etl",
                     timezone="America/New_York", dst_ambiguous=DstAmbiguous.BOTH,
                     catchup=Catchup.ALL)
    defs = make_defs(twice)
    evaluate(store, defs, twice, "2024-11-02T12:00")
    decisions = evaluate(store, defs, twice, "2024-11-03T06:30:10")
    assert [d.fire.instant for d in decisions] == [utc("2024-11-03T05:30"),
                                                   utc("2024-11-03T06:30")]
    assert [r["run_key"] for r in schedule_runs(store, "twice")] == [
        "twice:2024-11-03T05:30:00Z", "twice:2024-11-03T06:30:00Z"]


# -- catch-up after downtime ------------------------------------------------------------------

def down_for_ten_hours(store: Store, schedule: Schedule) -> list[TickDecision]:
    """On time at 01:00 and 02:00, killed, restarted at 12:30 (window 6h)."""
    defs = make_defs(schedule)
    assert evaluate(store, defs, schedule, "2024-05-01T00:00:30") == []
    for on_time in ("01:00:10", "02:00:10"):
        [decision] = evaluate(store, defs, schedule, f"2024-05-01T{on_time}")
        assert decision.run and decision.created
    return evaluate(store, defs, schedule, "2024-05-01T12:30")


WINDOW_REASON = "missed while no daemon ran; older than catchup_window 6h"


@pytest.mark.parametrize(("policy", "runs_after_restart", "in_window_reason"), [
    (Catchup.NONE, [], "missed while no daemon ran (catchup: none)"),
    (Catchup.LATEST, ["12:00"],
     "missed while no daemon ran; superseded by a later tick (catchup: latest)"),
    (Catchup.ALL, ["07:00", "08:00", "09:00", "10:00", "11:00", "12:00"], None),
])
def test_catchup_policy_decides_every_missed_tick_and_records_each_reason(
        store: Store, policy: Catchup, runs_after_restart: list[str],
        in_window_reason: str | None) -> None:
    schedule = hourly(catchup=policy, catchup_window=dt.timedelta(hours=6))
    decisions = down_for_ten_hours(store, schedule)
    missed = [utc(f"2024-05-01T{h:02d}:00") for h in range(3, 13)]
    assert [d.fire.instant for d in decisions] == missed
    rows = ticks_by_instant(store, "hourly")
    # Every instant from the first tick on has exactly one row; nothing is summarized.
    assert sorted(rows) == [utc(f"2024-05-01T{h:02d}:00") for h in range(1, 13)]
    ran = [utc(f"2024-05-01T{h}") for h in ("01:00", "02:00", *runs_after_restart)]
    for instant, row in rows.items():
        if instant in ran:
            assert (row["status"], row["skip_reason"], len(row["run_ids"])) == (
                "succeeded", None, 1)
        elif instant < utc("2024-05-01T06:30"):  # older than now - 6h
            assert (row["status"], row["skip_reason"]) == ("skipped", WINDOW_REASON)
        else:
            assert (row["status"], row["skip_reason"]) == ("skipped", in_window_reason)
        if row["status"] == "skipped":
            assert row["run_ids"] == []
    assert [r["run_key"] for r in schedule_runs(store, "hourly")] == [
        f"hourly:{i.strftime('%Y-%m-%dT%H:%M:%SZ')}" for i in ran]


@pytest.mark.parametrize("policy", list(Catchup))
def test_restart_beyond_the_window_runs_nothing_old_but_records_each_tick(
        store: Store, policy: Catchup) -> None:
    schedule = hourly(catchup=policy, catchup_window=dt.timedelta(hours=2))
    defs = make_defs(schedule)
    evaluate(store, defs, schedule, "2024-05-01T00:00:30")
    evaluate(store, defs, schedule, "2024-05-01T01:00:10")
    decisions = evaluate(store, defs, schedule, "2024-05-02T01:00:20")  # a day later
    rows = ticks_by_instant(store, "hourly")
    assert sorted(rows) == [utc("2024-05-01T01:00") + i * HOUR for i in range(25)]
    window = [i for i in rows if i >= utc("2024-05-01T23:00:20")]  # now - 2h
    old = [i for i in rows if i not in window and i != utc("2024-05-01T01:00")]
    assert all(rows[i]["skip_reason"] == ("missed while no daemon ran; older than "
                                          "catchup_window 2h") for i in old)
    assert len(old) == 22 and len(decisions) == 24
    # The newest is on time (within the misfire grace) and runs whatever the policy.
    assert rows[utc("2024-05-02T01:00")]["status"] == "succeeded"
    expected_runs = {Catchup.NONE: 1, Catchup.LATEST: 1, Catchup.ALL: 2}[policy]
    assert len(schedule_runs(store, "hourly")) == 1 + expected_runs


def test_a_very_long_outage_records_the_oldest_ticks_one_by_one_then_one_summary(
        store: Store) -> None:
    every_second = Schedule(name="fast", cron="* * * * * *", target="etl",
                            catchup=Catchup.NONE, catchup_window=dt.timedelta(seconds=10))
    defs = make_defs(every_second)
    evaluate(store, defs, every_second, "2024-05-01T00:00:00")
    evaluate(store, defs, every_second, "2024-05-01T01:00:00")  # an hour: 3600 ticks
    rows = ticks_by_instant(store, "fast", summaries=1)
    [summary] = [r for r in all_ticks(store, "fast") if r["scheduled_for"] is None]
    assert "too many to record one by one" in summary["skip_reason"]
    assert summary["skip_reason"].startswith(
        f"every tick after 2024-05-01T00:{MAX_MISSED_DETAIL // 60:02d}:"
        f"{MAX_MISSED_DETAIL % 60:02d}Z up to ")
    old = [i for i, r in rows.items() if "older than catchup_window" in (r["skip_reason"] or "")]
    assert sorted(old)[:MAX_MISSED_DETAIL] == [utc("2024-05-01T00:00:01") + i * SECOND
                                               for i in range(MAX_MISSED_DETAIL)]
    # Only the ticks inside the 10s window ran: they are within the misfire grace.
    ran = [i for i, r in rows.items() if r["status"] == "succeeded"]
    assert sorted(ran) == [utc("2024-05-01T00:59:50") + i * SECOND for i in range(11)]
    assert len(schedule_runs(store, "fast")) == 11


def test_never_ticks_from_before_the_schedule_was_first_seen(store: Store) -> None:
    schedule = hourly(catchup=Catchup.ALL, catchup_window=dt.timedelta(days=30))
    defs = make_defs(schedule)
    assert evaluate(store, defs, schedule, "2024-05-10T12:30") == []
    assert ticks_by_instant(store, "hourly") == {} and schedule_runs(store, "hourly") == []
    decisions = evaluate(store, defs, schedule, "2024-05-10T14:30")
    assert [d.fire.instant for d in decisions] == [utc("2024-05-10T13:00"),
                                                   utc("2024-05-10T14:00")]


def test_ticks_while_paused_are_not_caught_up_after_resume(store: Store) -> None:
    schedule = hourly(catchup=Catchup.ALL, catchup_window=dt.timedelta(days=30))
    defs = make_defs(schedule)
    evaluate(store, defs, schedule, "2024-05-01T00:30")
    evaluate(store, defs, schedule, "2024-05-01T01:00:05")
    with store.begin() as conn:
        assert set_paused(conn, "schedule", "hourly", True, utc("2024-05-01T01:30"))
        assert not set_paused(conn, "schedule", "hourly", True, utc("2024-05-01T01:31"))
    assert evaluate(store, defs, schedule, "2024-05-01T05:00:05") == []
    with store.begin() as conn:
        assert set_paused(conn, "schedule", "hourly", False, utc("2024-05-01T06:30"))
    decisions = evaluate(store, defs, schedule, "2024-05-01T08:00:05")
    assert [d.fire.instant for d in decisions] == [utc("2024-05-01T07:00"),
                                                   utc("2024-05-01T08:00")]
    assert all(d.run for d in decisions)
    assert sorted(ticks_by_instant(store, "hourly")) == [
        utc("2024-05-01T01:00"), utc("2024-05-01T07:00"), utc("2024-05-01T08:00")]


# -- replays: no second run, no duplicate tick -------------------------------------------------

def test_replayed_evaluation_at_the_same_now_writes_nothing(store: Store) -> None:
    schedule = hourly(catchup=Catchup.ALL)
    defs = make_defs(schedule)
    evaluate(store, defs, schedule, "2024-05-01T00:30")
    first = evaluate(store, defs, schedule, "2024-05-01T03:00:05")
    assert len(first) == 3 and all(d.created for d in first)
    assert evaluate(store, defs, schedule, "2024-05-01T03:00:05") == []
    assert len(ticks_by_instant(store, "hourly")) == 3
    assert len(schedule_runs(store, "hourly")) == 3


def test_a_clock_that_jumps_backwards_fires_nothing_twice(store: Store) -> None:
    schedule = hourly(catchup=Catchup.ALL)
    defs = make_defs(schedule)
    evaluate(store, defs, schedule, "2024-05-01T00:30")
    evaluate(store, defs, schedule, "2024-05-01T03:00:05")
    for earlier in ("2024-05-01T02:00:05", "2024-05-01T01:00:05", "2024-04-30T23:00"):
        assert evaluate(store, defs, schedule, earlier) == []
    [next_tick] = evaluate(store, defs, schedule, "2024-05-01T04:00:05")
    assert next_tick.fire.instant == utc("2024-05-01T04:00") and next_tick.created
    assert len(ticks_by_instant(store, "hourly")) == 4
    assert len(schedule_runs(store, "hourly")) == 4


def test_a_decision_replayed_from_an_old_horizon_is_absorbed_by_keys_and_ticks(
        store: Store) -> None:
    """Two deciders that both read the old horizon (or a restored state) decide the same
    instants: the run keys and the unique tick rows absorb the second decision."""
    schedule = hourly(catchup=Catchup.ALL)
    defs = make_defs(schedule)
    evaluate(store, defs, schedule, "2024-05-01T00:30")
    first = evaluate(store, defs, schedule, "2024-05-01T03:00:05")
    with store.begin() as conn:
        conn.execute(update(trigger_state).where(trigger_state.c.trigger == "hourly")
                     .values(last_scheduled_for=None))
    again = evaluate(store, defs, schedule, "2024-05-01T03:00:05")
    assert [d.fire.instant for d in again] == [d.fire.instant for d in first]
    assert [d.run_ids for d in again] == [d.run_ids for d in first]
    assert not any(d.created for d in again)
    assert len(ticks_by_instant(store, "hourly")) == 3
    assert len(schedule_runs(store, "hourly")) == 3


# -- overlap while the previous run is queued or running -------------------------------------

def overlapping(store: Store, policy: Overlap, previous: str) -> tuple[int, TickDecision]:
    schedule = hourly(overlap=policy)
    defs = make_defs(schedule)
    evaluate(store, defs, schedule, "2024-05-01T00:30")
    [first] = evaluate(store, defs, schedule, "2024-05-01T01:00:05")
    set_status(store, first.run_ids[0], previous)
    [second] = evaluate(store, defs, schedule, "2024-05-01T02:00:05")
    return first.run_ids[0], second


@pytest.mark.parametrize("previous", ["queued", "running"])
def test_overlap_allow_queues_another_run(store: Store, previous: str) -> None:
    _first, second = overlapping(store, Overlap.ALLOW, previous)
    assert second.run and second.created
    assert [r["status"] for r in schedule_runs(store, "hourly")] == [previous, "queued"]


@pytest.mark.parametrize("previous", ["queued", "starting", "running"])
def test_overlap_skip_skips_while_the_previous_run_is_active(store: Store,
                                                             previous: str) -> None:
    first, second = overlapping(store, Overlap.SKIP, previous)
    assert not second.run
    assert second.reason == f"previous run {first} is still {previous} (overlap: skip)"
    row = ticks_by_instant(store, "hourly")[utc("2024-05-01T02:00")]
    assert (row["status"], row["skip_reason"]) == ("skipped", second.reason)
    assert len(schedule_runs(store, "hourly")) == 1


@pytest.mark.parametrize("finished", ["succeeded", "failed", "canceled"])
def test_overlap_skip_runs_once_the_previous_run_finished(store: Store, finished: str) -> None:
    _first, second = overlapping(store, Overlap.SKIP, finished)
    assert second.run and second.created


def test_overlap_queue_one_keeps_at_most_one_waiting(store: Store) -> None:
    _first, second = overlapping(store, Overlap.QUEUE_ONE, "running")
    assert second.run and second.created  # one may wait behind the running one
    schedule = hourly(overlap=Overlap.QUEUE_ONE)
    [third] = evaluate(store, make_defs(schedule), schedule, "2024-05-01T03:00:05")
    assert not third.run
    assert third.reason == (f"run {second.run_ids[0]} is already waiting to start "
                            "(overlap: queue_one)")
    assert [r["status"] for r in schedule_runs(store, "hourly")] == ["running", "queued"]


def test_overlap_queue_one_skips_when_the_previous_is_still_queued(store: Store) -> None:
    first, second = overlapping(store, Overlap.QUEUE_ONE, "queued")
    assert not second.run and f"run {first} is already waiting" in (second.reason or "")
    assert len(schedule_runs(store, "hourly")) == 1


def test_overlap_cancel_previous_cancels_a_queued_run(store: Store) -> None:
    first, second = overlapping(store, Overlap.CANCEL_PREVIOUS, "queued")
    assert second.run and second.created
    statuses = {r["id"]: (r["status"], bool(r["cancel_requested"]))
                for r in schedule_runs(store, "hourly")}
    assert statuses == {first: ("canceled", False), second.run_ids[0]: ("queued", False)}


def test_overlap_cancel_previous_asks_a_running_run_to_stop(store: Store) -> None:
    first, second = overlapping(store, Overlap.CANCEL_PREVIOUS, "running")
    assert second.run and second.created
    statuses = {r["id"]: (r["status"], bool(r["cancel_requested"]))
                for r in schedule_runs(store, "hourly")}
    # The worker that runs it sees cancel_requested and stops the process.
    assert statuses == {first: ("running", True), second.run_ids[0]: ("queued", False)}


def test_overlap_cancel_previous_tolerates_a_run_that_finished_meanwhile(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The previous run finishes between listing the active runs and canceling them
    (another worker's commit): the tick still goes ahead."""
    import lockgate.daemon.schedules as schedules

    schedule = hourly(overlap=Overlap.CANCEL_PREVIOUS)
    defs = make_defs(schedule)
    evaluate(store, defs, schedule, "2024-05-01T00:30")
    [first] = evaluate(store, defs, schedule, "2024-05-01T01:00:05")
    set_status(store, first.run_ids[0], "succeeded")
    monkeypatch.setattr(schedules, "_active_runs", lambda conn, *where: [
        (first.run_ids[0], "running")])  # what a read just before the commit saw
    [second] = evaluate(store, defs, schedule, "2024-05-01T02:00:05")
    assert second.run and second.created
    assert [r["status"] for r in schedule_runs(store, "hourly")] == ["succeeded", "queued"]


# -- targets and Python schedules ----------------------------------------------------------------

def test_a_schedule_whose_target_is_gone_records_a_failed_tick(store: Store) -> None:
    schedule = Schedule(name="orphan", cron="0 * * * *", target="removed")
    defs = make_defs(schedule)
    evaluate(store, defs, schedule, "2024-05-01T00:30")
    [decision] = evaluate(store, defs, schedule, "2024-05-01T01:00:05")
    assert not decision.run
    row = ticks_by_instant(store, "orphan")[utc("2024-05-01T01:00")]
    assert row["status"] == "failed" and "'removed' is not defined" in row["error"]


PYTHON_SCHEDULES = '''
    import lockgate

    @lockgate.schedule(cron="0 * * * *", target="etl", config={"base": 1, "day": "?"})
    def merging(fire):
        return {"day": fire.instant.strftime("%Y-%m-%d"), "hour": fire.instant.hour}

    @lockgate.schedule(cron="0 * * * *", target="etl")
    def exploding(fire):
        raise ValueError("the upstream API said no")

    @lockgate.schedule(cron="0 * * * *", target="etl")
    def declining(fire):
        return lockgate.SkipReason(reason="nothing new upstream")
'''


@pytest.fixture
def python_defs(tmp_path: Path, store_url: str, store: Store) -> Definitions:
    from lockgate.settings import load_definitions

    module = f"user_schedules_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(PYTHON_SCHEDULES))
    (tmp_path / "lockgate.yaml").write_text(json.dumps({
        "storage": {"url": store_url}, "definitions": [module],
        "jobs": {"etl": {"command": ["true"]}}}))
    return load_definitions(tmp_path / "lockgate.yaml")


def call_plainly(fn: Callable[[FireTime], Any], fire: FireTime) -> Any:
    return fn(fire)


def python_tick(store: Store, defs: Definitions, name: str) -> TickDecision:
    schedule = defs.schedules[name]
    assert schedule.fn is not None
    evaluate(store, defs, schedule, "2024-05-01T00:30", call_user=call_plainly)
    [decision] = evaluate(store, defs, schedule, "2024-05-01T01:00:05", call_user=call_plainly)
    return decision


def test_python_schedule_that_raises_records_a_failed_tick_with_its_traceback(
        store: Store, python_defs: Definitions) -> None:
    decision = python_tick(store, python_defs, "exploding")
    assert not decision.run and decision.run_ids == ()
    row = ticks_by_instant(store, "exploding")[utc("2024-05-01T01:00")]
    assert row["status"] == "failed" and row["run_ids"] == []
    assert row["error"].startswith("Traceback (most recent call last)")
    assert "in exploding" in row["error"]
    assert row["error"].rstrip().endswith("ValueError: the upstream API said no")
    assert schedule_runs(store, "exploding") == []


def test_python_schedule_returning_skip_reason_records_a_skipped_tick(
        store: Store, python_defs: Definitions) -> None:
    decision = python_tick(store, python_defs, "declining")
    assert not decision.run and decision.reason == "nothing new upstream"
    row = ticks_by_instant(store, "declining")[utc("2024-05-01T01:00")]
    assert (row["status"], row["skip_reason"]) == ("skipped", "nothing new upstream")
    assert schedule_runs(store, "declining") == []


def test_python_schedule_returning_a_dict_merges_it_into_the_run_config(
        store: Store, python_defs: Definitions) -> None:
    decision = python_tick(store, python_defs, "merging")
    assert decision.run and decision.created
    with store.read() as conn:
        run = get_run(conn, decision.run_ids[0])
    assert dict(run.config) == {"base": 1, "day": "2024-05-01", "hour": 1}
    assert run.run_key == "merging:2024-05-01T01:00:00Z"


def test_python_schedule_is_called_only_for_ticks_that_run(
        store: Store, python_defs: Definitions) -> None:
    schedule = python_defs.schedules["merging"]
    schedule = dataclasses.replace(schedule, catchup=Catchup.LATEST)
    calls: list[dt.datetime] = []

    def recording(fn: Callable[[FireTime], Any], fire: FireTime) -> Any:
        calls.append(fire.instant)
        return fn(fire)

    evaluate(store, python_defs, schedule, "2024-05-01T00:30", call_user=recording)
    decisions = evaluate(store, python_defs, schedule, "2024-05-01T05:00:05",
                         call_user=recording)
    assert [d.run for d in decisions] == [False, False, False, False, True]
    assert calls == [utc("2024-05-01T05:00")]


# -- a restarted daemon: deciding_since splits missed ticks from on-time ones -----------------

@pytest.mark.parametrize(("policy", "ran"), [
    (Catchup.NONE, ["13:00"]), (Catchup.LATEST, ["12:00", "13:00"]),
    (Catchup.ALL, ["11:00", "12:00", "13:00"])])
def test_ticks_before_the_daemon_became_decider_are_missed_even_inside_the_grace(
        store: Store, policy: Catchup, ran: list[str]) -> None:
    schedule = hourly(catchup=policy)
    defs = make_defs(schedule)
    evaluate(store, defs, schedule, "2024-05-01T10:30")
    # Restarted; took the lease at 12:00:20; the 12:00 tick is only 30 s old but was
    # missed while no daemon decided.
    since = utc("2024-05-01T12:00:20")
    evaluate(store, defs, schedule, "2024-05-01T12:00:30", deciding_since=since)
    # A slow store: 13:00 is decided 5 minutes late, yet it is on time for this daemon.
    [late] = evaluate(store, defs, schedule, "2024-05-01T13:05", deciding_since=since)
    assert late.run and late.created
    rows = ticks_by_instant(store, "hourly")
    assert sorted(i for i, r in rows.items() if r["status"] == "succeeded") == [
        utc(f"2024-05-01T{h}") for h in ran]
    assert sorted(rows) == [utc("2024-05-01T11:00"), utc("2024-05-01T12:00"),
                            utc("2024-05-01T13:00")]


# -- property: whatever the evaluation times, every instant is decided exactly once ----------

@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(zone=st.sampled_from(["America/New_York", "Europe/Berlin", "Australia/Lord_Howe",
                             "Asia/Kathmandu"]),
       cron=st.sampled_from(["*/20 * * * *", "30 1 * * *", "0 2 * * *", "15 * * * *"]),
       ambiguous=st.sampled_from(list(DstAmbiguous)),
       policy=st.sampled_from(list(Catchup)),
       steps=st.lists(st.integers(-180, 600), min_size=1, max_size=12))
def test_any_sequence_of_evaluations_decides_each_instant_once(
        tmp_path_factory: pytest.TempPathFactory, zone: str, cron: str,
        ambiguous: DstAmbiguous, policy: Catchup, steps: list[int]) -> None:
    """Evaluations at arbitrary times, the clock sometimes jumping back, from the evening
    before New York's fall-back night: the decided instants are exactly the fire times
    between first seen and the latest evaluation, each once, and the runs are exactly
    the ticks that ran."""
    from lockgate.time.fire_times import fire_times

    schedule = Schedule(name="prop", cron=cron, target="etl", timezone=zone,
                        dst_ambiguous=ambiguous, catchup=policy,
                        catchup_window=dt.timedelta(hours=5))
    defs = make_defs(schedule)
    url = f"sqlite:///{tmp_path_factory.mktemp('prop') / 'lockgate.db'}"
    store = Store.open(url)
    try:
        store.upgrade()
        now = utc("2024-11-02T20:00")
        first_seen, latest = now, now
        evaluate_schedule(store, defs, schedule, now=now, lease=None)
        for minutes in steps:
            now += dt.timedelta(minutes=minutes)
            latest = max(latest, now)
            evaluate_schedule(store, defs, schedule, now=now, lease=None)
        expected = [f.instant for f in fire_times(schedule, after=first_seen, until=latest)]
        rows = ticks_by_instant(store, "prop")
        assert sorted(rows) == expected
        run_keys = [r["run_key"] for r in schedule_runs(store, "prop")]
        assert sorted(run_keys) == sorted(f"prop:{i.strftime('%Y-%m-%dT%H:%M:%SZ')}"
                                          for i, r in rows.items() if r["status"] == "succeeded")
    finally:
        store.close()
