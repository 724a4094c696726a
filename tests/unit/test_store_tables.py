"""The tables' constraints and types, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from lockgate.store import Store
from lockgate.store.tables import run_attempts, run_keys, runs, ticks

T0 = dt.datetime(2024, 3, 31, 0, 30, 0, 123456, tzinfo=dt.UTC)


def _key(origin: str, key: str, run_id: int = 1) -> dict[str, object]:
    return {"origin": origin, "run_key": key, "run_id": run_id, "created_at": T0}


def _tick(kind: str, trigger: str, scheduled_for: dt.datetime | None) -> dict[str, object]:
    return {"trigger_kind": kind, "trigger": trigger, "scheduled_for": scheduled_for,
            "started_at": T0, "status": "succeeded"}


def _run(**values: object) -> dict[str, object]:
    return {"target": "daily_sales", "job": "daily_sales", "origin": "manual",
            "status": "queued", "queued_at": T0, **values}


def test_a_run_key_is_spent_once_per_origin(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(insert(run_keys), _key("sensor:incoming", "a.csv", 1))
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(insert(run_keys), _key("sensor:incoming", "a.csv", 2))
    with store.read() as conn:
        assert conn.execute(select(run_keys.c.run_id)).scalars().all() == [1]


def test_the_same_run_key_under_another_origin_is_fine(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(insert(run_keys), [_key("sensor:incoming", "a.csv", 1),
                                        _key("sensor:other", "a.csv", 2),
                                        _key("manual", "a.csv", 3)])
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(run_keys)).scalar_one() == 3


def test_a_rejected_duplicate_rolls_back_its_whole_transaction(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(insert(run_keys), _key("schedule:nightly", "2024-03-30", 1))
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(insert(run_keys), _key("schedule:nightly", "2024-03-31", 2))
        conn.execute(insert(run_keys), _key("schedule:nightly", "2024-03-30", 3))
    with store.read() as conn:
        keys = conn.execute(select(run_keys.c.run_key)).scalars().all()
    assert keys == ["2024-03-30"]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "Asia/Kathmandu", "America/St_Johns"])
def test_aware_datetimes_round_trip_as_utc(store: Store, zone: str) -> None:
    local = T0.astimezone(ZoneInfo(zone))
    with store.begin() as conn:
        run_id = conn.execute(insert(runs).returning(runs.c.id),
                              _run(queued_at=local, started_at=None)).scalar_one()
    with store.read() as conn:
        row = conn.execute(select(runs.c.queued_at, runs.c.started_at)
                           .where(runs.c.id == run_id)).one()
    assert row.queued_at == T0
    assert row.queued_at.utcoffset() == dt.timedelta(0)
    assert row.queued_at.microsecond == T0.microsecond
    assert row.started_at is None


def test_datetimes_compare_in_utc_inside_the_database(store: Store) -> None:
    berlin = (T0 + dt.timedelta(hours=1)).astimezone(ZoneInfo("Europe/Berlin"))
    with store.begin() as conn:
        conn.execute(insert(runs), [_run(run_key="early", queued_at=T0),
                                    _run(run_key="late", queued_at=berlin)])
    with store.read() as conn:
        later = conn.execute(select(runs.c.run_key).where(runs.c.queued_at > T0)).scalars()
        assert list(later) == ["late"]


def test_a_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"), store.begin() as conn:
        conn.execute(insert(runs), _run(queued_at=T0.replace(tzinfo=None)))


def test_a_schedule_instant_is_ticked_once(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(insert(ticks), _tick("schedule", "nightly", T0))
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(insert(ticks), _tick("schedule", "nightly", T0))


def test_ticks_of_other_instants_or_triggers_are_distinct(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(insert(ticks), [
            _tick("schedule", "nightly", T0),
            _tick("schedule", "nightly", T0 + dt.timedelta(days=1)),
            _tick("schedule", "hourly", T0),
            _tick("sensor", "nightly", T0),
        ])


def test_sensor_ticks_without_an_instant_never_collide(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(insert(ticks), [_tick("sensor", "incoming", None)] * 3)
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(ticks)).scalar_one() == 3


def test_attempts_need_their_run_and_go_with_it(store: Store) -> None:
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(insert(run_attempts), {"run_id": 424242, "attempt": 1, "status": "running"})
    with store.begin() as conn:
        run_id = conn.execute(insert(runs).returning(runs.c.id), _run()).scalar_one()
        conn.execute(insert(run_attempts), {"run_id": run_id, "attempt": 1, "status": "failed"})
    with store.begin() as conn:
        conn.execute(runs.delete().where(runs.c.id == run_id))
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(run_attempts)).scalar_one() == 0


def test_python_side_defaults_fill_new_runs(store: Store) -> None:
    with store.begin() as conn:
        run_id = conn.execute(insert(runs).returning(runs.c.id), _run()).scalar_one()
    with store.read() as conn:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).one()
    assert (row.attempt, row.priority, row.partition_count, row.cancel_requested) == \
        (1, 0, 0, False)


def test_run_ids_grow(store: Store) -> None:
    with store.begin() as conn:
        ids = [conn.execute(insert(runs).returning(runs.c.id), _run()).scalar_one()
               for _ in range(3)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
