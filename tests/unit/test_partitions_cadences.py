"""Cadences, offsets, ends, existence as of now, static keys and the public surface."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import lockgate.partitions as partitions
from lockgate.definitions import PartitionsSpec
from lockgate.partitions import (
    NoTimeWindowError,
    PartitionKeyError,
    StaticPartitions,
    TimeWindowPartitions,
    partitions_for,
)

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args).replace(tzinfo=UTC)  # type: ignore[arg-type]


def parts(**kw: Any) -> TimeWindowPartitions:
    kw.setdefault("start", dt.datetime(2024, 1, 1))
    result = partitions_for(PartitionsSpec(**kw))
    assert isinstance(result, TimeWindowPartitions)
    return result


def test_public_surface_is_exactly_all() -> None:
    assert sorted(partitions.__all__) == sorted(
        [
            "NoTimeWindowError",
            "Partition",
            "PartitionKeyError",
            "PartitionMappingError",
            "PartitionRangeError",
            "PartitionSet",
            "StaticPartitions",
            "TimeWindowPartitions",
            "Window",
            "downstream_keys",
            "partitions_for",
            "upstream_keys",
        ]
    )
    for name in partitions.__all__:
        assert hasattr(partitions, name)


def test_partitions_for_shares_one_instance_per_spec() -> None:
    spec = PartitionsSpec(cadence="daily", start=dt.datetime(2024, 1, 1))
    assert partitions_for(spec) is partitions_for(
        PartitionsSpec(**{f: getattr(spec, f) for f in spec.__slots__})
    )


# -- existence as of now -------------------------------------------------------------------


def test_daily_keys_are_the_days_that_ended_by_now() -> None:
    p = parts(cadence="daily")
    assert p.keys(utc(2024, 1, 1, 23, 59)) == []
    assert p.keys(utc(2024, 1, 2)) == ["2024-01-01"]
    assert p.keys(utc(2024, 1, 3, 12)) == ["2024-01-01", "2024-01-02"]
    assert p.count(utc(2024, 1, 3, 12)) == 2
    assert p.last_closed_key(utc(2024, 1, 3, 12)) == "2024-01-02"
    assert p.last_closed_key(utc(2024, 1, 1, 12)) is None


def test_end_offset_adds_or_removes_partitions_past_the_last_closed_one() -> None:
    now = utc(2024, 1, 3, 12)
    assert parts(cadence="daily", end_offset=1).keys(now)[-1] == "2024-01-03"
    assert parts(cadence="daily", end_offset=2).count(now) == 4
    assert parts(cadence="daily", end_offset=-1).keys(now) == ["2024-01-01"]
    assert parts(cadence="daily", end_offset=-5).keys(now) == []
    # The schedule's partition ignores end_offset.
    assert parts(cadence="daily", end_offset=1).last_closed_key(now) == "2024-01-02"


def test_end_is_exclusive_the_last_partition_ends_at_or_before_it() -> None:
    p = parts(cadence="daily", end=dt.datetime(2024, 1, 4, 12))
    later = utc(2030, 1, 1)
    assert p.keys(later) == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert p.last_closed_key(later) == "2024-01-03"
    with pytest.raises(PartitionKeyError, match="after the end"):
        p.window("2024-01-04")
    with pytest.raises(PartitionKeyError, match="after the end"):
        p.key_for(utc(2024, 1, 4, 1))
    assert parts(cadence="daily", end=dt.datetime(2024, 1, 4), end_offset=5).count(later) == 3


def test_start_between_boundaries_begins_at_the_next_boundary() -> None:
    p = parts(cadence="daily", start=dt.datetime(2024, 1, 1, 6))
    assert p.keys(utc(2024, 1, 4))[0] == "2024-01-02"
    with pytest.raises(PartitionKeyError, match="before the start"):
        p.window("2024-01-01")
    with pytest.raises(PartitionKeyError, match="before the first"):
        p.key_for(utc(2024, 1, 1, 12))


def test_keys_grow_as_now_moves_and_reuse_the_cache() -> None:
    p = TimeWindowPartitions(PartitionsSpec(cadence="hourly", start=dt.datetime(2024, 1, 1)))
    assert p.count(utc(2024, 1, 2)) == 24
    assert p.count(utc(2024, 1, 1, 5, 30)) == 5  # asking about an earlier now still works
    assert p.count(utc(2024, 1, 3)) == 48


# -- cadences ------------------------------------------------------------------------------


def test_hourly_with_minute_offset() -> None:
    p = parts(cadence="hourly", minute_offset=15, timezone="Europe/Berlin")
    keys = p.keys(utc(2024, 1, 1, 1))  # 02:00 in Berlin
    assert keys == ["2024-01-01-00:15"]
    assert p.window("2024-01-01-00:15") == (utc(2023, 12, 31, 23, 15), utc(2024, 1, 1, 0, 15))


def test_daily_with_hour_and_minute_offsets() -> None:
    p = parts(cadence="daily", hour_offset=6, minute_offset=30, timezone="Europe/Berlin")
    assert p.window("2024-01-01") == (utc(2024, 1, 1, 5, 30), utc(2024, 1, 2, 5, 30))
    assert p.key_for(utc(2024, 1, 2, 5, 29)) == "2024-01-01"
    assert p.key_for(utc(2024, 1, 2, 5, 30)) == "2024-01-02"


@pytest.mark.parametrize(
    ("week_start", "first"),
    [(0, "2024-01-01"), (6, "2024-01-07"), (2, "2024-01-03")],
)
def test_weekly_starts_on_week_start_and_keys_the_first_day(week_start: int, first: str) -> None:
    p = parts(cadence="weekly", week_start=week_start)
    keys = p.keys(utc(2024, 3, 1))
    assert keys[0] == first
    w = p.window(first)
    assert w.duration == dt.timedelta(days=7)
    assert w.start.weekday() == week_start


def test_weekly_across_dst_is_167_hours() -> None:
    p = parts(cadence="weekly", week_start=6, timezone="America/New_York")
    assert p.window("2024-03-10").duration == dt.timedelta(hours=167)
    assert p.window("2024-11-03").duration == dt.timedelta(hours=169)


def test_monthly_and_day_offset_clamped_to_short_months() -> None:
    p = parts(cadence="monthly", timezone="Asia/Kolkata")
    assert p.keys(utc(2024, 4, 15)) == ["2024-01", "2024-02", "2024-03"]
    assert p.window("2024-02").duration == dt.timedelta(days=29)
    late = parts(cadence="monthly", day_offset=30)  # the 31st, or the month's last day
    assert late.window("2024-02").start == utc(2024, 2, 29)
    assert late.window("2024-02").end == utc(2024, 3, 31)
    assert late.window("2024-04").start == utc(2024, 4, 30)


def test_yearly() -> None:
    p = parts(cadence="yearly", start=dt.datetime(2020, 1, 1), timezone="Asia/Kathmandu")
    assert p.keys(utc(2024, 6, 1)) == ["2020", "2021", "2022", "2023"]
    w = p.window("2024")
    assert w.start == utc(2023, 12, 31, 18, 15)
    assert w.duration == dt.timedelta(days=366)


def test_cron_cadence_every_six_hours() -> None:
    p = parts(cadence="cron", cron="0 */6 * * *", timezone="UTC")
    assert p.keys(utc(2024, 1, 2)) == [
        "2024-01-01-00:00",
        "2024-01-01-06:00",
        "2024-01-01-12:00",
        "2024-01-01-18:00",
    ]
    assert p.window("2024-01-01-18:00") == (utc(2024, 1, 1, 18), utc(2024, 1, 2))


def test_cron_cadence_weekdays_only_spans_the_weekend() -> None:
    p = parts(cadence="cron", cron="0 9 * * 1-5", timezone="Europe/Berlin")
    assert p.window("2024-01-05-09:00").end == utc(2024, 1, 8, 8)  # Friday to Monday


def test_cron_every_fifteen_minutes_repeats_the_fall_back_hour() -> None:
    p = parts(
        cadence="cron",
        cron="*/15 * * * *",
        timezone="America/New_York",
        start=dt.datetime(2024, 11, 3),
    )
    keys = [k for k in p.keys(utc(2024, 11, 5)) if k.startswith("2024-11-03")]
    assert len(keys) == 25 * 4
    windows = p.windows_for(keys)
    assert all(w.duration == dt.timedelta(minutes=15) for w in windows)
    assert "2024-11-03-01:45-05:00" in keys


def test_cron_with_seconds_has_seconds_in_its_keys() -> None:
    p = parts(cadence="cron", cron="*/30 * * * * *", timezone="UTC")
    assert p.keys(utc(2024, 1, 1, 0, 1)) == ["2024-01-01-00:00:00", "2024-01-01-00:00:30"]


def test_custom_format_round_trips_and_index_is_the_order() -> None:
    p = parts(cadence="daily", format="%d.%m.%Y")
    keys = p.keys(utc(2024, 3, 1))
    assert keys[:2] == ["01.01.2024", "02.01.2024"]
    assert p.index_of("01.02.2024", utc(2024, 3, 1)) == 31
    assert sorted(keys) != keys  # lexical order does not hold for this format
    assert p.keys_between("30.01.2024", "02.02.2024", utc(2024, 3, 1)) == [
        "30.01.2024",
        "31.01.2024",
        "01.02.2024",
        "02.02.2024",
    ]
    for key in keys:
        assert p.key_for(p.window(key).start) == key


# -- queries -------------------------------------------------------------------------------


def test_keys_between_index_of_key_at_and_has_key() -> None:
    p = parts(cadence="daily")
    now = utc(2024, 2, 1)
    assert p.keys_between("2024-01-30", "2024-01-31", now) == ["2024-01-30", "2024-01-31"]
    assert p.keys_between("2024-01-05", "2024-01-05", now) == ["2024-01-05"]
    assert p.index_of("2024-01-05", now) == 4
    assert p.key_at(4, now) == "2024-01-05"
    assert p.key_at(-1, now) == "2024-01-31"
    with pytest.raises(IndexError):
        p.key_at(31, now)
    assert p.has_key("2024-01-31", now)
    assert not p.has_key("2024-02-01", now)
    part = p.parse_key("2024-01-02", now)
    assert (part.key, part.index) == ("2024-01-02", 1)
    assert part.window == (utc(2024, 1, 2), utc(2024, 1, 3))


def test_window_of_a_future_key_follows_the_definition() -> None:
    p = parts(cadence="daily")
    assert p.window("2030-06-01") == (utc(2030, 6, 1), utc(2030, 6, 2))
    assert p.key_for(utc(2030, 6, 1, 12)) == "2030-06-01"


def test_windows_for_in_any_order_with_future_keys() -> None:
    p = parts(cadence="hourly")
    now = utc(2024, 1, 2)
    keys = ["2024-01-01-05:00", "2024-01-01-03:00", "2024-01-05-00:00"]
    assert p.windows_for(keys, now) == [p.window(k) for k in keys]
    assert p.windows_for([], now) == []
    with pytest.raises(PartitionKeyError):
        p.windows_for(["2024-01-01-03:00", "nope"], now)


def test_keys_overlapping_a_range() -> None:
    p = parts(cadence="hourly", timezone="UTC")
    now = utc(2024, 1, 2)
    assert p.keys_overlapping(utc(2024, 1, 1, 2, 30), utc(2024, 1, 1, 4), now) == [
        "2024-01-01-02:00",
        "2024-01-01-03:00",
    ]
    assert p.keys_overlapping(utc(2023, 1, 1), utc(2024, 1, 1, 1), now) == ["2024-01-01-00:00"]
    assert len(p.keys_overlapping(utc(2024, 1, 1, 20), utc(2030, 1, 1), now)) == 4


def test_window_at_offset_reaches_before_start_and_into_the_future() -> None:
    p = parts(cadence="daily", timezone="America/New_York")
    assert p.window_at_offset("2024-01-01", -1).start == utc(2023, 12, 31, 5)
    assert p.window_at_offset("2024-03-11", -1) == p.window("2024-03-10")
    assert p.window_at_offset("2024-03-09", 2) == p.window("2024-03-11")
    h = parts(cadence="hourly", timezone="America/New_York")
    assert h.window_at_offset("2024-03-10-03:00", -1) == h.window("2024-03-10-01:00")
    assert h.window_at_offset("2024-11-03-02:00", -1) == h.window("2024-11-03-01:00-05:00")


# -- static --------------------------------------------------------------------------------


def test_static_keys_keep_declared_order_and_have_no_windows() -> None:
    s = partitions_for(PartitionsSpec(keys=("us", "eu", "apac")))
    assert isinstance(s, StaticPartitions)
    assert not s.is_time_window
    assert s.keys() == ["us", "eu", "apac"]
    assert s.count() == 3
    assert s.index_of("apac") == 2
    assert s.keys_between("us", "eu") == ["us", "eu"]
    assert s.has_key("eu") and not s.has_key("EU")
    with pytest.raises(NoTimeWindowError, match="static keys"):
        s.window("us")
    with pytest.raises(NoTimeWindowError):
        s.windows_for(["us"])
    with pytest.raises(NoTimeWindowError):
        s.key_for(utc(2024, 1, 1))
    with pytest.raises(NoTimeWindowError):
        s.last_closed_key(utc(2024, 1, 1))
    with pytest.raises(PartitionKeyError, match="us, eu, apac"):
        s.index_of("asia")


def test_threads_extending_one_set_see_the_same_keys() -> None:
    spec = PartitionsSpec(cadence="hourly", start=dt.datetime(2020, 1, 1), timezone="Europe/Berlin")
    expected = TimeWindowPartitions(spec).keys(utc(2024, 1, 1))
    shared = TimeWindowPartitions(spec)
    nows = [utc(2020 + i % 4, 1 + i % 12, 1) for i in range(24)] + [utc(2024, 1, 1)]

    def ask(now: dt.datetime) -> list[str]:
        return shared.keys(now)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(ask, nows))
    for now, keys in zip(nows, results, strict=True):
        assert keys == expected[: len(keys)]
        assert len(keys) == shared.count(now)
    assert results[-1] == expected
