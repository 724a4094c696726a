"""Partition windows, keys and fire times against an independent tz-database oracle.

The oracle (``tests/tz_oracle.py``) walks UTC instants through zoneinfo's offsets and
maps them to local wall times; it shares no code with lockgate. Around each transition
it checks: the same boundaries and keys on a generated set; the same window and key on a
fresh set, per key; keys that sort like time; windows that tile time. Every IANA zone is
in the sample space; ``tests/oracle_compare.py`` runs the full sweep (1970-2037).
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import oracle_compare
import pytest
import tz_oracle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockgate.definitions import Schedule
from lockgate.time.fire_times import fire_times

UTC = dt.UTC
ZONES = sorted(zoneinfo.available_timezones())

NAMED = [
    ("Antarctica/Troll", dt.datetime(2025, 10, 26, 1, tzinfo=UTC)),  # +02 -> +00
    ("America/Argentina/Cordoba", dt.datetime(1991, 3, 3, 2, tzinfo=UTC)),  # -02 -> -04
    ("America/Argentina/San_Luis", dt.datetime(1990, 3, 14, 2, tzinfo=UTC)),
    ("Antarctica/Vostok", dt.datetime(1994, 1, 31, 17, tzinfo=UTC)),  # +07 -> +00
    ("America/New_York", dt.datetime(2024, 11, 3, 6, tzinfo=UTC)),
    ("Australia/Lord_Howe", dt.datetime(2000, 8, 26, 15, 30, tzinfo=UTC)),  # 02:00 -> 02:30
    ("Antarctica/Rothera", dt.datetime(1976, 12, 1, tzinfo=UTC)),  # 00:00 -> 21:00 the day before
    ("America/Goose_Bay", dt.datetime(1988, 10, 30, 2, 1, tzinfo=UTC)),  # back over midnight
    ("Pacific/Apia", dt.datetime(2011, 12, 30, 10, tzinfo=UTC)),  # a day skipped
]


@pytest.mark.parametrize("cadence", sorted(oracle_compare.CADENCES))
@pytest.mark.parametrize(("zone", "at"), NAMED, ids=[z for z, _ in NAMED])
def test_named_transitions_agree_with_the_oracle(zone: str, at: dt.datetime, cadence: str) -> None:
    assert oracle_compare.compare(zone, int(at.timestamp()), cadence) == []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from(ZONES),
    year=st.integers(1970, 2037),
    cadence=st.sampled_from(sorted(oracle_compare.CADENCES)),
    data=st.data(),
)
def test_any_zone_and_year_agrees_with_the_oracle_around_its_transitions(
    zone: str, year: int, cadence: str, data: st.DataObject
) -> None:
    found = oracle_compare.transitions(zone, year, year)
    if found:
        at = data.draw(st.sampled_from(found))
    else:
        day = data.draw(st.integers(0, 364))
        at = int(dt.datetime(year, 1, 1, tzinfo=UTC).timestamp()) + day * 86400
    assert oracle_compare.compare(zone, at, cadence) == []


def test_every_zone_agrees_with_the_oracle_in_2025() -> None:
    problems = []
    for zone in ZONES:
        for at in oracle_compare.transitions(zone, 2025, 2025):
            for cadence in ("hourly", "daily"):
                problems += oracle_compare.compare(zone, at, cadence, fresh=False)
    assert problems == []


def fires(cron: str, zone: str, start: dt.datetime, end: dt.datetime) -> list[int]:
    schedule = Schedule(name="s", cron=cron, target="job", timezone=zone)
    return [int(f.instant.timestamp()) for f in fire_times(schedule, after=start, until=end)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone=st.sampled_from(ZONES), year=st.integers(1970, 2037), data=st.data())
def test_hourly_and_daily_fire_times_agree_with_the_oracle(
    zone: str, year: int, data: st.DataObject
) -> None:
    found = oracle_compare.transitions(zone, year, year) or [
        int(dt.datetime(year, 6, 1, tzinfo=UTC).timestamp())
    ]
    at = dt.datetime.fromtimestamp(data.draw(st.sampled_from(found)), UTC)
    start, end = at - dt.timedelta(days=1), at + dt.timedelta(days=1)
    step = dt.timedelta(seconds=1)
    # Elapsed time: every instant the clock reads a whole hour, none for a skipped one.
    hourly = tz_oracle.boundaries(zone, start, end, step=3600, phase=0, elapsed=True, jumps=False)
    expected = [b.epoch for b in hourly if b.epoch > start.timestamp()]
    assert fires("0 */1 * * *", zone, start, end - step) == expected
    assert fires("0 * * * *", zone, start, end - step) == expected
    assert all(b - a <= 7200 for a, b in itertools.pairwise(expected))
    # Midnight, dst next/first: where the calendar day starts.
    days = tz_oracle.boundaries(zone, start, end, step=86400, phase=0, elapsed=False)
    assert fires("0 0 * * *", zone, start, end - step) == [
        b.epoch for b in days if b.epoch > start.timestamp()
    ]
