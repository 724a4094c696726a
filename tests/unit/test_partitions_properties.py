"""Property tests over zones (odd ones included), cadences and dates.

For every generated set: consecutive windows touch without gap or overlap; every instant
falls in exactly one window; keys round-trip (key -> window -> key) through both the
cached timeline and the direct, per-key computation; keys are unique and, for the
default formats, sort like time.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockgate.definitions import PartitionsSpec
from lockgate.partitions import TimeWindowPartitions
from lockgate.partitions.timeline import keyed

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",  # negative DST in the tz database
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/St_Johns",  # -03:30 / -02:30
    "Asia/Tehran",
    "America/Sao_Paulo",  # DST at midnight (until 2019)
    "America/Havana",  # DST at midnight
    "America/Santiago",
    "Africa/Casablanca",  # DST suspended for Ramadan
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "Antarctica/Troll",  # 2-hour shift
]

CRONS = ["*/20 * * * *", "30 */2 * * *", "0 9 * * 1-5", "15 0 1 * *", "0 0,12 * * *"]


@st.composite
def specs(draw: st.DrawFn) -> PartitionsSpec:
    zone = draw(st.sampled_from(ZONES))
    cadence = draw(st.sampled_from(["hourly", "daily", "weekly", "monthly", "yearly", "cron"]))
    transition_month = st.builds(
        dt.date, st.integers(1995, 2030), st.sampled_from([3, 4, 9, 10, 11]), st.integers(1, 28)
    )
    any_day = st.dates(dt.date(1990, 1, 1), dt.date(2035, 12, 31))
    day = draw(st.one_of(transition_month, any_day))
    start = dt.datetime(
        day.year,
        day.month,
        day.day,
        draw(st.integers(0, 23)),
        draw(st.sampled_from([0, 0, 15, 30, 45])),
    )
    kw: dict[str, Any] = {}
    if cadence != "cron":
        kw["minute_offset"] = draw(st.sampled_from([0, 0, 15, 30, 45]))
    if cadence in ("daily", "weekly", "monthly", "yearly"):
        kw["hour_offset"] = draw(st.integers(0, 23))
    if cadence in ("weekly", "monthly", "yearly"):
        kw["day_offset"] = draw(st.integers(0, 30 if cadence != "weekly" else 6))
    if cadence == "weekly":
        kw["week_start"] = draw(st.integers(0, 6))
    if cadence == "cron":
        kw["cron"] = draw(st.sampled_from(CRONS))
    return PartitionsSpec(cadence=cadence, start=start, timezone=zone, **kw)


SPAN = {
    "hourly": dt.timedelta(days=40),
    "daily": dt.timedelta(days=400),
    "weekly": dt.timedelta(days=3 * 365),
    "monthly": dt.timedelta(days=10 * 365),
    "yearly": dt.timedelta(days=40 * 365),
    "cron": dt.timedelta(days=70),  # "15 0 1 * *" needs a month to close one
}


def now_for(spec: PartitionsSpec) -> dt.datetime:
    assert spec.start is not None and spec.cadence is not None
    return spec.start.replace(tzinfo=dt.UTC) + SPAN[spec.cadence]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs(), st.data())
def test_windows_tile_time_and_keys_round_trip(spec: PartitionsSpec, data: st.DataObject) -> None:
    parts = TimeWindowPartitions(spec)
    now = now_for(spec)
    keys = parts.keys(now)
    assert keys, spec
    assert len(set(keys)) == len(keys)
    windows = parts.windows_for(keys, now)

    # Consecutive windows touch: no gap, no overlap, none empty.
    for a, b in itertools.pairwise(windows):
        assert a.end == b.start
    assert all(w.start < w.end for w in windows)
    assert windows[-1].end <= now

    # Every instant falls in exactly one window, and key_for finds it.
    starts = [w.start for w in windows]
    lo, hi = windows[0].start, windows[-1].end
    span = int((hi - lo).total_seconds())
    for _ in range(10):
        t = lo + dt.timedelta(seconds=data.draw(st.integers(0, span - 1)))
        i = bisect.bisect_right(starts, t) - 1
        assert sum(w.contains(t) for w in windows[max(i - 1, 0) : i + 2]) == 1
        assert windows[i].contains(t)
        assert parts.key_for(t) == keys[i]

    # Round trip through a fresh set: the direct per-key path agrees with the timeline.
    fresh = TimeWindowPartitions(spec)
    picks = {0, len(keys) - 1, *data.draw(st.lists(st.integers(0, len(keys) - 1), max_size=8))}
    picks |= {i for i, k in enumerate(keys) if len(k) > len(keys[0])}  # repeated times
    for i in sorted(picks)[:40]:
        w = fresh.window(keys[i])
        assert w == windows[i]
        assert fresh.key_for(w.start) == keys[i]
        assert fresh.key_for(w.end - dt.timedelta(seconds=1)) == keys[i]
        if i:
            assert fresh.window_at_offset(keys[i], -1) == windows[i - 1]

    # Index order is the truth; the default formats also sort lexically, repeats included.
    assert [parts.index_of(k, now) for k in keys[:: max(len(keys) // 20, 1)]] == list(
        range(0, len(keys), max(len(keys) // 20, 1))
    )
    assert sorted(keys) == keys


@settings(max_examples=100, deadline=None)
@given(specs())
def test_day_at_a_time_generation_matches_boundary_by_boundary(spec: PartitionsSpec) -> None:
    parts = TimeWindowPartitions(spec)
    now = now_for(spec)
    keys = parts.keys(now)
    starts = [w.start for w in parts.windows_for(keys, now)]
    fmt = parts.key_format
    expected: list[tuple[int, str]] = []
    for (epoch, _, _, _), key in keyed(parts.zone, parts.cadence, fmt, parts._first):
        if len(expected) == len(keys):
            break
        expected.append((epoch, key))
    assert [(int(s.timestamp()), k) for s, k in zip(starts, keys, strict=True)] == expected
