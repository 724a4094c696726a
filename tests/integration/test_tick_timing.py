"""A tick's ``finished_at`` is stamped when its transaction's work is done.

The dedupe of a tick's requested run keys runs inside the tick's transaction; the tick
row's ``finished_at`` comes after it, so ``lockgate ticks`` shows what a tick cost. A
fake clock moves while the dedupe runs, standing in for a slow one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from lockgate.daemon.ticks import list_ticks
from lockgate.definitions import Definitions, Job, RunRequest, Schedule, Sensor
from lockgate.sensors.base import SensorResult
from lockgate.store import Store
from lockgate.time import clock

START = dt.datetime(2026, 12, 1, 10, 0, 0, 500_000, tzinfo=dt.UTC)
DEDUPE = dt.timedelta(seconds=5)
JOB = Job(name="work", command=("true",))


@pytest.fixture
def fake_clock() -> Iterator[clock.FakeClock]:
    fake = clock.FakeClock(START)
    clock.use_clock(fake)
    try:
        yield fake
    finally:
        clock.reset_clock()


def slow_dedupe(monkeypatch: pytest.MonkeyPatch, module: Any, fake: clock.FakeClock) -> None:
    real = module.request_runs

    def request_runs(*args: Any, **kwargs: Any) -> Any:
        outcomes = real(*args, **kwargs)
        fake.advance(DEDUPE)
        return outcomes

    monkeypatch.setattr(module, "request_runs", request_runs)


def test_a_sensor_tick_finishes_after_its_dedupe(
    store: Store, fake_clock: clock.FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lockgate.daemon import sensor_ticks

    slow_dedupe(monkeypatch, sensor_ticks, fake_clock)
    sensor = Sensor(name="s", kind="python", target="work")
    defs = Definitions(storage_url=store.url, jobs={"work": JOB})
    result = SensorResult(requests=[RunRequest(target="work", run_key=f"r{i}") for i in range(3)])
    sensor_ticks.commit_result(
        store, defs, sensor, result, started=START, now=clock.now(), lease=None
    )
    with store.read() as conn:
        [tick] = list_ticks(conn, "s", kind="sensor")
    assert tick["started_at"] == START
    assert tick["finished_at"] == START + DEDUPE


def test_a_schedule_tick_finishes_after_its_dedupe(
    store: Store, fake_clock: clock.FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lockgate.daemon import schedules

    slow_dedupe(monkeypatch, schedules, fake_clock)
    schedule = Schedule(name="every_minute", cron="* * * * *", target="work")
    defs = Definitions(
        storage_url=store.url, jobs={"work": JOB}, schedules={schedule.name: schedule}
    )
    with store.begin() as conn:  # seen a minute ago: one tick is due now
        from lockgate.daemon.ticks import get_state

        get_state(conn, "schedule", schedule.name, START - dt.timedelta(seconds=61))
    schedules.evaluate_schedule(store, defs, schedule, now=START, lease=None)
    with store.read() as conn:
        ticks = [t for t in list_ticks(conn, schedule.name) if t["run_ids"]]
    assert ticks, "a tick requested a run"
    for tick in ticks:
        assert tick["started_at"] == START
        assert tick["finished_at"] == START + DEDUPE * len(ticks)
