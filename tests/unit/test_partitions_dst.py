"""Time-window partitions on DST days and in zones with odd offsets, on real dates."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from lockgate.partitions import PartitionKeyError, TimeWindowPartitions

from lockgate.definitions import PartitionsSpec

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
NOW = dt.datetime(2025, 1, 1, 12, tzinfo=UTC)


def hourly(tz: str, **kw: Any) -> TimeWindowPartitions:
    spec = PartitionsSpec(cadence="hourly", start=dt.datetime(2024, 1, 1), timezone=tz, **kw)
    return TimeWindowPartitions(spec)


def daily(tz: str, **kw: Any) -> TimeWindowPartitions:
    spec = PartitionsSpec(cadence="daily", start=dt.datetime(2024, 1, 1), timezone=tz, **kw)
    return TimeWindowPartitions(spec)


def day_keys(parts: TimeWindowPartitions, day: str) -> list[str]:
    return [k for k in parts.keys(NOW) if k.startswith(day)]


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args).replace(tzinfo=UTC)  # type: ignore[arg-type]


def assert_contiguous(parts: TimeWindowPartitions, keys: list[str]) -> None:
    windows = parts.windows_for(keys, NOW)
    for a, b in itertools.pairwise(windows):
        assert a.end == b.start
    for key, w in zip(keys, windows, strict=True):
        assert w.start < w.end
        assert parts.key_for(w.start) == key
        assert parts.key_for(w.end - dt.timedelta(seconds=1)) == key


# -- America/New_York ----------------------------------------------------------------------


def test_new_york_spring_forward_day_has_23_hourly_partitions_without_0200() -> None:
    keys = day_keys(hourly("America/New_York"), "2024-03-10")
    assert len(keys) == 23
    assert keys[:3] == ["2024-03-10-00:00", "2024-03-10-01:00", "2024-03-10-03:00"]
    assert "2024-03-10-02:00" not in keys


def test_new_york_fall_back_day_has_25_hourly_partitions_with_two_0100_keys() -> None:
    parts = hourly("America/New_York")
    keys = day_keys(parts, "2024-11-03")
    assert len(keys) == 25
    assert keys[1:4] == ["2024-11-03-01:00", "2024-11-03-01:00-05:00", "2024-11-03-02:00"]
    assert parts.window("2024-11-03-01:00").start == utc(2024, 11, 3, 5)  # 01:00 EDT
    assert parts.window("2024-11-03-01:00-05:00").start == utc(2024, 11, 3, 6)  # 01:00 EST
    assert parts.window("2024-11-03-02:00").start == utc(2024, 11, 3, 7)
    assert parts.key_for(utc(2024, 11, 3, 6, 30)) == "2024-11-03-01:00-05:00"
    assert_contiguous(parts, keys)


def test_new_york_hourly_windows_are_each_one_hour_across_both_transitions() -> None:
    parts = hourly("America/New_York")
    keys = day_keys(parts, "2024-03-10") + day_keys(parts, "2024-11-03")
    assert all(w.duration == HOUR for w in parts.windows_for(keys, NOW))


def test_new_york_daily_partitions_are_local_days_of_23_and_25_hours() -> None:
    parts = daily("America/New_York")
    spring = parts.window("2024-03-10")
    fall = parts.window("2024-11-03")
    assert spring == (utc(2024, 3, 10, 5), utc(2024, 3, 11, 4))
    assert spring.duration == dt.timedelta(hours=23)
    assert fall.duration == dt.timedelta(hours=25)
    assert parts.window("2024-06-01").duration == dt.timedelta(hours=24)


def test_new_york_skipped_hour_key_is_refused_naming_dst() -> None:
    parts = hourly("America/New_York")
    with pytest.raises(PartitionKeyError, match="DST skips") as info:
        parts.window("2024-03-10-02:00")
    assert info.value.key == "2024-03-10-02:00"
    assert not parts.has_key("2024-03-10-02:00", NOW)


def test_repeated_hour_suffix_only_where_the_hour_repeats() -> None:
    parts = hourly("America/New_York")
    with pytest.raises(PartitionKeyError, match="no repeated local time"):
        parts.window("2024-11-03-02:00-05:00")
    with pytest.raises(PartitionKeyError, match="no repeated local time"):
        parts.window("2024-11-03-01:00-06:00")


def test_daily_boundary_inside_the_gap_starts_at_the_transition() -> None:
    # 02:30 does not exist on 2024-03-10 in New York: that day starts at 03:00 EDT.
    parts = daily("America/New_York", hour_offset=2, minute_offset=30)
    assert parts.window("2024-03-10").start == utc(2024, 3, 10, 7)
    assert parts.window("2024-03-09").end == utc(2024, 3, 10, 7)
    # A repeated 01:30 on the fall-back day: the day starts at the first one.
    fall = daily("America/New_York", hour_offset=1, minute_offset=30)
    assert fall.window("2024-11-03").start == utc(2024, 11, 3, 5, 30)
    assert fall.window("2024-11-03").duration == dt.timedelta(hours=25)


def test_hourly_with_minute_offset_in_new_york_gap() -> None:
    parts = hourly("America/New_York", minute_offset=30)
    keys = day_keys(parts, "2024-03-10")
    # 02:30 is skipped: it resolves to 03:00 EDT, a half-hour window before 03:30.
    assert "2024-03-10-02:30" in keys
    assert parts.window("2024-03-10-01:30").duration == dt.timedelta(minutes=30)
    assert parts.window("2024-03-10-02:30") == (utc(2024, 3, 10, 7), utc(2024, 3, 10, 7, 30))
    assert_contiguous(parts, keys)


# -- Europe/Berlin --------------------------------------------------------------------------


def test_berlin_hourly_on_transition_days() -> None:
    parts = hourly("Europe/Berlin")
    spring = day_keys(parts, "2024-03-31")
    fall = day_keys(parts, "2024-10-27")
    assert len(spring) == 23 and "2024-03-31-02:00" not in spring
    assert len(fall) == 25
    assert fall[2:4] == ["2024-10-27-02:00", "2024-10-27-02:00+01:00"]
    assert parts.window("2024-10-27-02:00+01:00").start == utc(2024, 10, 27, 1)
    assert_contiguous(parts, spring)
    assert_contiguous(parts, fall)


def test_berlin_daily_at_0200_on_transition_nights() -> None:
    parts = daily("Europe/Berlin", hour_offset=2)
    assert parts.window("2024-03-31").start == utc(2024, 3, 31, 1)  # 03:00 CEST
    assert parts.window("2024-10-27").start == utc(2024, 10, 27, 0)  # first 02:00 (CEST)
    assert parts.window("2024-10-27").duration == dt.timedelta(hours=25)


# -- Australia/Lord_Howe: a 30-minute DST shift ----------------------------------------------


def test_lord_howe_fall_back_repeats_half_an_hour() -> None:
    # 2024-04-07 02:00 (+11) goes back to 01:30 (+10:30).
    parts = hourly("Australia/Lord_Howe")
    keys = day_keys(parts, "2024-04-07")
    assert len(keys) == 24
    assert parts.window("2024-04-07-01:00").duration == dt.timedelta(minutes=90)
    assert_contiguous(parts, keys)
    halves = hourly("Australia/Lord_Howe", minute_offset=30)
    keys = day_keys(halves, "2024-04-07")
    assert len(keys) == 25
    assert keys[1:3] == ["2024-04-07-01:30", "2024-04-07-01:30+10:30"]
    assert halves.window("2024-04-07-01:30").duration == dt.timedelta(minutes=30)
    assert halves.window("2024-04-07-01:30+10:30").duration == HOUR
    assert_contiguous(halves, keys)


def test_lord_howe_spring_forward_skips_half_an_hour() -> None:
    # 2024-10-06 02:00 (+10:30) jumps to 02:30 (+11).
    parts = hourly("Australia/Lord_Howe")
    keys = day_keys(parts, "2024-10-06")
    assert len(keys) == 24
    w = parts.window("2024-10-06-02:00")
    assert w.duration == dt.timedelta(minutes=30)
    assert w.start == utc(2024, 10, 5, 15, 30)  # 02:30 +11:00, the transition
    assert_contiguous(parts, keys)
    day = daily("Australia/Lord_Howe").window("2024-10-06")
    assert day.duration == dt.timedelta(hours=23, minutes=30)


# -- Fixed odd offsets --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "midnight_utc"),
    [
        ("Asia/Kolkata", utc(2024, 5, 31, 18, 30)),
        ("Asia/Kathmandu", utc(2024, 5, 31, 18, 15)),
        ("Pacific/Chatham", utc(2024, 5, 31, 11, 15)),
    ],
)
def test_odd_offset_zones_have_whole_local_days_and_hours(
    tz: str, midnight_utc: dt.datetime
) -> None:
    parts = daily(tz)
    assert parts.window("2024-06-01") == (midnight_utc, midnight_utc + dt.timedelta(days=1))
    hours = hourly(tz)
    keys = day_keys(hours, "2024-06-01")
    assert len(keys) == 24
    assert hours.window(keys[0]).start == midnight_utc
    assert hours.key_for(midnight_utc + dt.timedelta(minutes=59)) == "2024-06-01-00:00"


@pytest.mark.parametrize("cron", ["0 */1 * * *", "0 0-23 * * *", "0 * * * *"])
def test_cron_cadence_every_hour_keys_both_new_york_0100s(cron: str) -> None:
    spec = PartitionsSpec(cadence="cron", cron=cron, start=dt.datetime(2024, 1, 1),
                          timezone="America/New_York")
    parts = TimeWindowPartitions(spec)
    keys = day_keys(parts, "2024-11-03")
    assert len(keys) == 25
    assert keys[1:3] == ["2024-11-03-01:00", "2024-11-03-01:00-05:00"]
    assert parts.window("2024-11-03-01:00-05:00") == (utc(2024, 11, 3, 6), utc(2024, 11, 3, 7))
    fresh = TimeWindowPartitions(spec)
    assert fresh.window("2024-11-03-01:00") == (utc(2024, 11, 3, 5), utc(2024, 11, 3, 6))
    assert_contiguous(parts, keys)


# -- Stranger zones -----------------------------------------------------------------------


def test_troll_two_hour_fall_back_orders_partitions_by_time() -> None:
    # Antarctica/Troll goes from +02 to +00: 01:00 and 02:00 happen twice. Keys stay
    # unique and windows contiguous; the index, not the lexical order, is the order.
    parts = hourly("Antarctica/Troll")
    keys = day_keys(parts, "2024-10-27")
    assert len(keys) == 26
    assert keys[1:5] == [
        "2024-10-27-01:00",
        "2024-10-27-02:00",
        "2024-10-27-01:00+00:00",
        "2024-10-27-02:00+00:00",
    ]
    assert_contiguous(parts, keys)


def test_apia_skipped_day_has_no_partitions() -> None:
    spec = PartitionsSpec(cadence="daily", start=dt.datetime(2011, 12, 28), timezone="Pacific/Apia")
    parts = TimeWindowPartitions(spec)
    assert parts.keys(utc(2012, 1, 2)) == ["2011-12-28", "2011-12-29", "2011-12-31", "2012-01-01"]
    with pytest.raises(PartitionKeyError, match="DST skips"):
        parts.window("2011-12-30")
    hours = TimeWindowPartitions(
        PartitionsSpec(cadence="hourly", start=dt.datetime(2011, 12, 29), timezone="Pacific/Apia")
    )
    keys = hours.keys(utc(2012, 1, 2))
    assert not [k for k in keys if k.startswith("2011-12-30")]
    i = keys.index("2011-12-29-23:00")
    assert keys[i + 1] == "2011-12-31-00:00"
    assert hours.window(keys[i]).end == hours.window(keys[i + 1]).start
