"""Time-window partitions on DST days and in zones with odd offsets, on real dates."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from lockgate.definitions import PartitionsSpec
from lockgate.partitions import PartitionKeyError, TimeWindowPartitions

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
    spec = PartitionsSpec(
        cadence="cron", cron=cron, start=dt.datetime(2024, 1, 1), timezone="America/New_York"
    )
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
    # Antarctica/Troll goes from +02 to +00: 01:00 and 02:00 happen twice. The second
    # 01:00 comes after the first 02:00, so it is keyed after it, and keys sort like time.
    parts = hourly("Antarctica/Troll")
    keys = day_keys(parts, "2024-10-27")
    assert len(keys) == 26
    assert keys[1:6] == [
        "2024-10-27-01:00",
        "2024-10-27-02:00",
        "2024-10-27-02:00#2024-10-27-01:00+00:00",
        "2024-10-27-02:00+00:00",
        "2024-10-27-03:00",
    ]
    assert sorted(keys) == keys
    assert_contiguous(parts, keys)


def fresh_and_generated(spec: PartitionsSpec, now: dt.datetime) -> list[tuple[str, Any]]:
    """Every key up to ``now`` with its window, checked to be the same on a fresh set."""
    generated = TimeWindowPartitions(spec)
    keys = generated.keys(now)
    windows = generated.windows_for(keys, now)
    for key, window in zip(keys, windows, strict=True):
        fresh = TimeWindowPartitions(spec)
        assert fresh.window(key) == window, key
        assert fresh.key_for(window.start) == key
        assert fresh.key_for(window.end - dt.timedelta(seconds=1)) == key
    for a, b in itertools.pairwise(windows):
        assert a.end == b.start
    assert sorted(keys) == keys
    return list(zip(keys, windows, strict=True))


@pytest.mark.parametrize(
    ("tz", "start", "repeats"),
    [
        # +02 -> +00 at 01:00Z: 01:00-02:59 twice.
        ("Antarctica/Troll", dt.datetime(2025, 10, 25), 2),
        # -02 -> -04 at 02:00Z on 1991-03-03: 22:00-23:59 of March 2nd twice.
        ("America/Argentina/Cordoba", dt.datetime(1991, 3, 1), 2),
        # +07 -> +00 at 17:00Z on 1994-01-31: 17:00-23:59 twice.
        ("Antarctica/Vostok", dt.datetime(1994, 1, 30), 7),
        ("America/New_York", dt.datetime(2024, 11, 2), 1),
    ],
)
def test_long_fall_backs_key_every_repeat_in_time_order_with_one_window_per_key(
    tz: str, start: dt.datetime, repeats: int
) -> None:
    spec = PartitionsSpec(cadence="hourly", start=start, timezone=tz)
    now = start.replace(tzinfo=UTC) + dt.timedelta(days=4)
    pairs = fresh_and_generated(spec, now)
    again = [(k, w) for k, w in pairs if "+" in k[10:] or "-" in k[11:]]
    assert len(again) == repeats
    assert all(w.duration == HOUR for _, w in pairs)


def test_troll_window_of_the_first_0200_is_the_same_on_a_fresh_and_a_generated_set() -> None:
    spec = PartitionsSpec(
        cadence="hourly", start=dt.datetime(2025, 1, 1), timezone="Antarctica/Troll"
    )
    generated = TimeWindowPartitions(spec)
    generated.keys(dt.datetime(2025, 12, 1, tzinfo=UTC))
    fresh = TimeWindowPartitions(spec)
    expected = (utc(2025, 10, 26, 0), utc(2025, 10, 26, 1))
    assert generated.window("2025-10-26-02:00") == expected == fresh.window("2025-10-26-02:00")
    repeat = "2025-10-26-02:00#2025-10-26-01:00+00:00"
    assert fresh.window(repeat) == (utc(2025, 10, 26, 1), utc(2025, 10, 26, 2))
    assert fresh.window_at_offset(repeat, -1) == expected
    assert fresh.window_at_offset("2025-10-26-03:00", -3) == expected
    with pytest.raises(PartitionKeyError, match="that partition is 2025-10-26-02:00#"):
        fresh.window("2025-10-26-01:00+00:00")


def test_vostok_seven_hour_fall_back_keys_sort_and_round_trip() -> None:
    spec = PartitionsSpec(
        cadence="hourly", start=dt.datetime(1994, 1, 1), timezone="Antarctica/Vostok"
    )
    parts = TimeWindowPartitions(spec)
    keys = [k for k in parts.keys(utc(1994, 3, 1)) if k.startswith("1994-01-31")]
    assert len(keys) == 31
    assert keys[23:] == [
        "1994-01-31-23:00",
        *(f"1994-01-31-23:00#1994-01-31-{h}:00+00:00" for h in range(17, 23)),
        "1994-01-31-23:00+00:00",
    ]
    assert sorted(keys) == keys
    fresh = TimeWindowPartitions(spec)
    assert fresh.key_for(utc(1994, 1, 31, 19, 30)) == "1994-01-31-23:00#1994-01-31-19:00+00:00"
    assert fresh.window_at_offset("1994-02-01-00:00", -8) == parts.window("1994-01-31-23:00")
    assert_contiguous(parts, keys)


def test_lord_howe_2000_spring_forward_hourly_and_every_hour_cron() -> None:
    # 2000-08-27 02:00 (+10:30) -> 02:30 (+11): the 02:00 partition is half an hour.
    for extra in ({"cadence": "hourly"}, {"cadence": "cron", "cron": "0 */1 * * *"}):
        spec = PartitionsSpec(
            start=dt.datetime(2000, 8, 26), timezone="Australia/Lord_Howe", **extra
        )
        pairs = dict(fresh_and_generated(spec, utc(2000, 8, 29)))
        assert pairs["2000-08-27-02:00"].duration == dt.timedelta(minutes=30)
        assert pairs["2000-08-27-02:00"].start == utc(2000, 8, 26, 15, 30)


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
