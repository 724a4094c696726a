"""Schedule fire times on real DST transition dates, in odd-offset zones, with seconds.

Every expectation is an exact UTC instant. The transitions used:

- America/New_York 2024-03-10 02:00 EST -> 03:00 EDT (07:00Z); 2024-11-03 02:00 EDT ->
  01:00 EST (06:00Z), so 01:00-01:59 happens twice.
- Europe/Berlin 2024-03-31 02:00 CET -> 03:00 CEST (01:00Z); 2024-10-27 03:00 CEST ->
  02:00 CET (01:00Z), so 02:00-02:59 happens twice.
- Australia/Lord_Howe 2024-04-07 02:00 (+11) -> 01:30 (+10:30) (2024-04-06 15:00Z), so
  01:30-01:59 happens twice; 2024-10-06 02:00 (+10:30) -> 02:30 (+11) (2024-10-05
  15:30Z), so 02:00-02:29 does not exist.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockgate.definitions import DstAmbiguous, DstNonexistent, Schedule
from lockgate.time.fire_times import FireTime, fire_times, previous_fire

UTC = dt.UTC
NEXT, SKIP = DstNonexistent.NEXT, DstNonexistent.SKIP
FIRST, LAST, BOTH = DstAmbiguous.FIRST, DstAmbiguous.LAST, DstAmbiguous.BOTH


def sched(cron: str, zone: str, *, nonexistent: DstNonexistent = NEXT,
          ambiguous: DstAmbiguous = FIRST) -> Schedule:
    return Schedule(name="s", cron=cron, target="job", timezone=zone,
                    dst_nonexistent=nonexistent, dst_ambiguous=ambiguous)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def fires_on(schedule: Schedule, day: dt.date) -> list[FireTime]:
    """Fire times whose instant falls on the local calendar ``day`` of the schedule's zone."""
    zone = ZoneInfo(schedule.timezone)
    start = dt.datetime.combine(day, dt.time(), zone).astimezone(UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(UTC)
    return list(fire_times(schedule, after=start - dt.timedelta(microseconds=1),
                           until=end - dt.timedelta(microseconds=1)))


def instants_on(schedule: Schedule, day: dt.date) -> list[dt.datetime]:
    return [f.instant for f in fires_on(schedule, day)]


# -- daily crons at a wall time that does not exist or happens twice -----------------------

# (zone, local date, cron, policy, expected UTC instants fired on that local date)
DAILY_CASES = [
    # New York spring forward: 02:30 does not exist.
    ("America/New_York", "2024-03-10", "30 2 * * *", {"nonexistent": NEXT},
     ["2024-03-10T07:00"]),  # 03:00 EDT, the first valid instant after the gap
    ("America/New_York", "2024-03-10", "30 2 * * *", {"nonexistent": SKIP}, []),
    # New York fall back: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
    ("America/New_York", "2024-11-03", "30 1 * * *", {"ambiguous": FIRST},
     ["2024-11-03T05:30"]),
    ("America/New_York", "2024-11-03", "30 1 * * *", {"ambiguous": LAST},
     ["2024-11-03T06:30"]),
    ("America/New_York", "2024-11-03", "30 1 * * *", {"ambiguous": BOTH},
     ["2024-11-03T05:30", "2024-11-03T06:30"]),
    # Berlin spring forward: 02:00 and 02:30 do not exist.
    ("Europe/Berlin", "2024-03-31", "0 2 * * *", {"nonexistent": NEXT}, ["2024-03-31T01:00"]),
    ("Europe/Berlin", "2024-03-31", "30 2 * * *", {"nonexistent": NEXT}, ["2024-03-31T01:00"]),
    ("Europe/Berlin", "2024-03-31", "30 2 * * *", {"nonexistent": SKIP}, []),
    # Berlin fall back: 02:30 happens at 00:30Z (CEST) and 01:30Z (CET).
    ("Europe/Berlin", "2024-10-27", "30 2 * * *", {"ambiguous": FIRST}, ["2024-10-27T00:30"]),
    ("Europe/Berlin", "2024-10-27", "30 2 * * *", {"ambiguous": LAST}, ["2024-10-27T01:30"]),
    ("Europe/Berlin", "2024-10-27", "30 2 * * *", {"ambiguous": BOTH},
     ["2024-10-27T00:30", "2024-10-27T01:30"]),
    # Lord Howe goes back 30 minutes: 01:45 happens at 14:45Z (+11) and 15:15Z (+10:30).
    ("Australia/Lord_Howe", "2024-04-07", "45 1 * * *", {"ambiguous": FIRST},
     ["2024-04-06T14:45"]),
    ("Australia/Lord_Howe", "2024-04-07", "45 1 * * *", {"ambiguous": LAST},
     ["2024-04-06T15:15"]),
    ("Australia/Lord_Howe", "2024-04-07", "45 1 * * *", {"ambiguous": BOTH},
     ["2024-04-06T14:45", "2024-04-06T15:15"]),
    # 01:15 is before the repeated half hour: it happens once whatever the policy.
    ("Australia/Lord_Howe", "2024-04-07", "15 1 * * *", {"ambiguous": BOTH},
     ["2024-04-06T14:15"]),
    # Lord Howe goes forward 30 minutes: 02:15 does not exist; 02:30 does (+11).
    ("Australia/Lord_Howe", "2024-10-06", "15 2 * * *", {"nonexistent": NEXT},
     ["2024-10-05T15:30"]),
    ("Australia/Lord_Howe", "2024-10-06", "15 2 * * *", {"nonexistent": SKIP}, []),
    ("Australia/Lord_Howe", "2024-10-06", "30 2 * * *", {"nonexistent": SKIP},
     ["2024-10-05T15:30"]),
]


@pytest.mark.parametrize(("zone", "day", "cron", "policy", "expected"), DAILY_CASES)
def test_daily_cron_fires_at_the_exact_instants_its_dst_policy_names(
        zone: str, day: str, cron: str, policy: dict[str, object], expected: list[str]) -> None:
    schedule = sched(cron, zone, **policy)  # type: ignore[arg-type]  # enum values per key
    assert instants_on(schedule, dt.date.fromisoformat(day)) == [utc(e) for e in expected]


@pytest.mark.parametrize(("zone", "day", "cron", "policy", "expected"), DAILY_CASES)
def test_dst_policies_change_nothing_on_the_days_around_a_transition(
        zone: str, day: str, cron: str, policy: dict[str, object], expected: list[str]) -> None:
    schedule = sched(cron, zone, **policy)  # type: ignore[arg-type]
    tz = ZoneInfo(zone)
    hour, minute = int(cron.split()[1]), int(cron.split()[0])
    for delta in (-1, 1):
        other = dt.date.fromisoformat(day) + dt.timedelta(days=delta)
        wall = dt.datetime.combine(other, dt.time(hour, minute), tz)
        [fire] = fires_on(schedule, other)
        assert fire.instant == wall.astimezone(UTC) and fire.note is None


def test_the_unused_policy_has_no_effect() -> None:
    """A nonexistent-time policy does not touch fall-back nights, and the reverse."""
    fall = dt.date(2024, 11, 3)
    spring = dt.date(2024, 3, 10)
    for nonexistent in DstNonexistent:
        assert instants_on(sched("30 1 * * *", "America/New_York", nonexistent=nonexistent),
                           fall) == [utc("2024-11-03T05:30")]
    for ambiguous in DstAmbiguous:
        assert instants_on(sched("30 2 * * *", "America/New_York", ambiguous=ambiguous),
                           spring) == [utc("2024-03-10T07:00")]


def test_dst_decisions_are_explained_in_the_fire_time_note() -> None:
    [gap] = fires_on(sched("30 2 * * *", "America/New_York"), dt.date(2024, 3, 10))
    assert gap.note is not None and "02:30 does not exist" in gap.note
    assert "03:00 EDT" in gap.note and "dst: next" in gap.note
    assert gap.wall == dt.datetime(2024, 3, 10, 2, 30)
    assert gap.local.isoformat() == "2024-03-10T03:00:00-04:00"
    first, second = fires_on(sched("30 2 * * *", "Europe/Berlin", ambiguous=BOTH),
                             dt.date(2024, 10, 27))
    assert first.local.isoformat() == "2024-10-27T02:30:00+02:00"
    assert second.local.isoformat() == "2024-10-27T02:30:00+01:00"
    assert "occurs twice" in (first.note or "") and "occurs twice" in (second.note or "")
    [last] = fires_on(sched("30 2 * * *", "Europe/Berlin", ambiguous=LAST),
                      dt.date(2024, 10, 27))
    assert "second" in (last.note or "") and "dst: last" in (last.note or "")


# -- hourly and faster crons run on elapsed time --------------------------------------------

ALL_POLICIES = [(n, a) for n in DstNonexistent for a in DstAmbiguous]


@pytest.mark.parametrize(("nonexistent", "ambiguous"), ALL_POLICIES)
def test_hourly_cron_fires_23_times_on_new_york_spring_forward_day(
        nonexistent: DstNonexistent, ambiguous: DstAmbiguous) -> None:
    got = instants_on(sched("0 * * * *", "America/New_York", nonexistent=nonexistent,
                            ambiguous=ambiguous), dt.date(2024, 3, 10))
    assert len(got) == 23
    assert got[0] == utc("2024-03-10T05:00") and got[-1] == utc("2024-03-11T03:00")
    assert all(b - a == dt.timedelta(hours=1) for a, b in itertools.pairwise(got))


@pytest.mark.parametrize(("nonexistent", "ambiguous"), ALL_POLICIES)
def test_hourly_cron_fires_25_times_on_new_york_fall_back_day(
        nonexistent: DstNonexistent, ambiguous: DstAmbiguous) -> None:
    fires = fires_on(sched("0 * * * *", "America/New_York", nonexistent=nonexistent,
                           ambiguous=ambiguous), dt.date(2024, 11, 3))
    got = [f.instant for f in fires]
    assert len(got) == 25
    assert all(b - a == dt.timedelta(hours=1) for a, b in itertools.pairwise(got))
    one_am = [f.instant for f in fires if f.wall == dt.datetime(2024, 11, 3, 1)]
    assert one_am == [utc("2024-11-03T05:00"), utc("2024-11-03T06:00")]


@pytest.mark.parametrize(("day", "count"), [("2024-03-10", 92), ("2024-11-03", 100)])
def test_every_15_minutes_runs_on_real_elapsed_time_in_new_york(day: str, count: int) -> None:
    got = instants_on(sched("*/15 * * * *", "America/New_York", ambiguous=FIRST),
                      dt.date.fromisoformat(day))
    assert len(got) == count
    assert all(b - a == dt.timedelta(minutes=15) for a, b in itertools.pairwise(got))


def test_hourly_cron_fires_25_times_on_berlin_fall_back_day() -> None:
    got = instants_on(sched("0 * * * *", "Europe/Berlin"), dt.date(2024, 10, 27))
    assert len(got) == 25
    assert got[0] == utc("2024-10-26T22:00") and got[-1] == utc("2024-10-27T22:00")
    assert all(b - a == dt.timedelta(hours=1) for a, b in itertools.pairwise(got))


def test_lord_howe_repeated_half_hour_fires_twice_every_15_minutes() -> None:
    fires = fires_on(sched("*/15 * * * *", "Australia/Lord_Howe"), dt.date(2024, 4, 7))
    got = [f.instant for f in fires]
    assert len(got) == 96 + 2  # 24.5 real hours
    assert all(b - a == dt.timedelta(minutes=15) for a, b in itertools.pairwise(got))
    walls = [f.wall.strftime("%H:%M") for f in fires]
    assert sorted(w for w in set(walls) if walls.count(w) > 1) == ["01:30", "01:45"]
    assert [f.instant for f in fires if f.wall.strftime("%H:%M") == "01:30"] == [
        utc("2024-04-06T14:30"), utc("2024-04-06T15:00")]
    assert [f.instant for f in fires if f.wall.strftime("%H:%M") == "01:45"] == [
        utc("2024-04-06T14:45"), utc("2024-04-06T15:15")]


def test_lord_howe_skipped_half_hour_never_fires_every_15_minutes() -> None:
    fires = fires_on(sched("*/15 * * * *", "Australia/Lord_Howe", nonexistent=NEXT),
                     dt.date(2024, 10, 6))
    got = [f.instant for f in fires]
    assert len(got) == 96 - 2  # 23.5 real hours
    assert all(b - a == dt.timedelta(minutes=15) for a, b in itertools.pairwise(got))
    walls = {f.wall.strftime("%H:%M") for f in fires}
    assert "02:00" not in walls and "02:15" not in walls
    assert all(f.note is None for f in fires)


# Every hour is every hour however the hour field is written.
EVERY_HOUR = ["0 */1 * * *", "0 0-23 * * *", "0 0-11,12-23 * * *",
              "0 " + ",".join(str(h) for h in range(24)) + " * * *"]


@pytest.mark.parametrize("cron", EVERY_HOUR)
@pytest.mark.parametrize(("nonexistent", "ambiguous"), [(NEXT, FIRST), (SKIP, LAST)])
def test_every_hour_written_out_fires_25_times_on_new_york_fall_back_day(
        cron: str, nonexistent: DstNonexistent, ambiguous: DstAmbiguous) -> None:
    fires = fires_on(sched(cron, "America/New_York", nonexistent=nonexistent,
                           ambiguous=ambiguous), dt.date(2024, 11, 3))
    got = [f.instant for f in fires]
    assert len(got) == 25
    assert all(b - a == dt.timedelta(hours=1) for a, b in itertools.pairwise(got))
    assert [f.instant for f in fires if f.wall == dt.datetime(2024, 11, 3, 1)] == [
        utc("2024-11-03T05:00"), utc("2024-11-03T06:00")]


@pytest.mark.parametrize("cron", EVERY_HOUR)
def test_every_hour_written_out_never_fires_in_the_lord_howe_gap(cron: str) -> None:
    # 2000-08-27 02:00 (+10:30) -> 02:30 (+11): 02:00 never existed, so nothing fires at
    # the 02:30 that `next` would give a daily cron.
    fires = fires_on(sched(cron, "Australia/Lord_Howe", nonexistent=NEXT),
                     dt.date(2000, 8, 27))
    got = [f.instant for f in fires]
    assert len(got) == 23
    assert utc("2000-08-26T15:30") not in got
    assert [f.local.strftime("%H:%M") for f in fires][1:4] == ["01:00", "03:00", "04:00"]
    assert all(f.note is None for f in fires)
    assert previous_fire(sched(cron, "Australia/Lord_Howe"), utc("2000-08-26T16:30")) == utc(
        "2000-08-26T16:00")
    assert previous_fire(sched(cron, "Australia/Lord_Howe"), utc("2000-08-26T16:00")) == utc(
        "2000-08-26T14:30")


def test_every_hour_but_one_keeps_the_dst_policy() -> None:
    fires = fires_on(sched("0 0-22 * * *", "America/New_York"), dt.date(2024, 11, 3))
    assert [f.instant for f in fires if f.wall == dt.datetime(2024, 11, 3, 1)] == [
        utc("2024-11-03T05:00")]


# Vostok 1994-01-31: +07 -> +00 at 17:00Z, so 17:00-23:59 happens twice.
VOSTOK_HOURS = [utc(f"1994-01-31T{h:02d}:00") for h in range(10, 24)]


@pytest.mark.parametrize("after", [utc("1994-01-31T09:30"), utc("1994-01-31T15:30"),
                                   utc("1994-01-31T16:00"), utc("1994-01-31T18:59")])
def test_hourly_cron_fires_every_real_hour_through_vostoks_seven_hour_fall_back(
        after: dt.datetime) -> None:
    schedule = sched("0 * * * *", "Antarctica/Vostok")
    expected = [i for i in VOSTOK_HOURS if i > after][:4]
    assert [f.instant for f in fire_times(schedule, after=after, limit=4)] == expected
    assert previous_fire(schedule, expected[0] + dt.timedelta(minutes=30)) == expected[0]


@pytest.mark.parametrize("before", [utc("1994-01-31T16:30"), utc("1994-01-31T17:30"),
                                    utc("1994-01-31T20:00")])
def test_previous_fire_in_vostoks_repeated_stretch_is_the_last_real_hour(
        before: dt.datetime) -> None:
    expected = max(i for i in VOSTOK_HOURS if i < before)
    assert previous_fire(sched("0 * * * *", "Antarctica/Vostok"), before) == expected
    both = sched("30 18 * * *", "Antarctica/Vostok", ambiguous=BOTH)
    fires = [f.instant for f in fire_times(both, after=utc("1994-01-31T10:00"), limit=2)]
    assert fires == [utc("1994-01-31T11:30"), utc("1994-01-31T18:30")]
    last = sched("30 18 * * *", "Antarctica/Vostok", ambiguous=LAST)
    assert [f.instant for f in fire_times(last, after=utc("1994-01-31T16:30"), limit=1)] == [
        utc("1994-01-31T18:30")]
    assert previous_fire(last, utc("1994-01-31T19:00")) == utc("1994-01-31T18:30")


# -- odd offsets and seconds -----------------------------------------------------------------

@pytest.mark.parametrize(("zone", "cron", "day", "expected"), [
    ("Asia/Kathmandu", "0 9 * * *", "2024-06-01", "2024-06-01T03:15"),  # +05:45
    ("Asia/Kathmandu", "30 0 * * *", "2024-06-01", "2024-05-31T18:45"),
    ("Asia/Kolkata", "30 2 * * *", "2024-03-10", "2024-03-09T21:00"),  # +05:30
    ("Asia/Kolkata", "0 0 * * *", "2024-11-03", "2024-11-02T18:30"),
    ("America/St_Johns", "0 2 * * *", "2024-06-01", "2024-06-01T04:30"),  # -02:30 in summer
])
def test_odd_offset_zones_fire_at_the_right_utc_instant(zone: str, cron: str, day: str,
                                                        expected: str) -> None:
    assert instants_on(sched(cron, zone), dt.date.fromisoformat(day)) == [utc(expected)]


def test_odd_offset_zones_fire_hourly_at_quarter_and_half_hours_in_utc() -> None:
    kathmandu = instants_on(sched("0 * * * *", "Asia/Kathmandu"), dt.date(2024, 6, 1))
    kolkata = instants_on(sched("0 * * * *", "Asia/Kolkata"), dt.date(2024, 6, 1))
    assert len(kathmandu) == len(kolkata) == 24
    assert {i.minute for i in kathmandu} == {15} and {i.minute for i in kolkata} == {30}


def test_kathmandu_quarter_hour_gap_in_1986_moves_to_the_first_valid_instant() -> None:
    # 1986-01-01 00:00 +05:30 became 00:15 +05:45: 00:05 never happened.
    [fire] = fires_on(sched("5 0 * * *", "Asia/Kathmandu"), dt.date(1986, 1, 1))
    assert fire.instant == utc("1985-12-31T18:30")
    assert fire.local.isoformat() == "1986-01-01T00:15:00+05:45"
    assert instants_on(sched("5 0 * * *", "Asia/Kathmandu", nonexistent=SKIP),
                       dt.date(1986, 1, 1)) == []


def test_six_field_cron_fires_on_seconds() -> None:
    schedule = sched("*/20 * * * * *", "Europe/Berlin")
    start = utc("2024-06-01T10:00")
    got = list(fire_times(schedule, after=start, limit=4))
    assert [f.instant for f in got] == [start + dt.timedelta(seconds=s) for s in (20, 40, 60, 80)]
    assert len(instants_on(schedule, dt.date(2024, 10, 27))) == 25 * 180  # elapsed time


def test_six_field_cron_with_seconds_follows_dst_policies() -> None:
    spring = sched("30 30 2 * * *", "America/New_York")
    [gap] = fires_on(spring, dt.date(2024, 3, 10))
    assert gap.instant == utc("2024-03-10T07:00")
    assert gap.note is not None and "02:30:30 does not exist" in gap.note
    both = sched("30 30 1 * * *", "America/New_York", ambiguous=BOTH)
    assert instants_on(both, dt.date(2024, 11, 3)) == [utc("2024-11-03T05:30:30"),
                                                       utc("2024-11-03T06:30:30")]


# -- the interface: after is exclusive, until inclusive, limit, resumption --------------------

def test_after_is_exclusive_and_until_inclusive() -> None:
    schedule = sched("0 2 * * *", "UTC")
    got = [f.instant for f in fire_times(schedule, after=utc("2024-06-01T02:00"),
                                         until=utc("2024-06-03T02:00"))]
    assert got == [utc("2024-06-02T02:00"), utc("2024-06-03T02:00")]


def test_after_between_the_two_occurrences_of_a_repeated_time_yields_only_the_second() -> None:
    both = sched("30 1 * * *", "America/New_York", ambiguous=BOTH)
    got = list(fire_times(both, after=utc("2024-11-03T05:30"), limit=2))
    assert [f.instant for f in got] == [utc("2024-11-03T06:30"), utc("2024-11-04T06:30")]
    first = sched("30 1 * * *", "America/New_York", ambiguous=FIRST)
    got = list(fire_times(first, after=utc("2024-11-03T05:30"), limit=1))
    assert [f.instant for f in got] == [utc("2024-11-04T06:30")]


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        next(fire_times(sched("0 2 * * *", "UTC"), after=dt.datetime(2024, 1, 1)))


def test_next_policy_never_fires_one_instant_twice() -> None:
    # 02:00, 02:30 and 03:00 all land on 03:00 EDT on the spring-forward night.
    schedule = sched("0,30 2,3 * * *", "America/New_York")
    got = instants_on(schedule, dt.date(2024, 3, 10))
    assert got == [utc("2024-03-10T07:00"), utc("2024-03-10T07:30")]


# -- properties --------------------------------------------------------------------------------

ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu",
         "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "America/Havana",
         "Antarctica/Troll", "Europe/Dublin"]
CRONS = ["0 2 * * *", "30 2 * * *", "30 1 * * *", "45 1 * * *", "0 0 * * *", "0 * * * *",
         "*/15 * * * *", "15,45 * * * *", "0,30 1-3 * * *", "0 */2 * * *", "30 0 2 * * *"]
TRANSITIONS = [dt.date(2024, 3, 10), dt.date(2024, 11, 3), dt.date(2024, 3, 31),
               dt.date(2024, 10, 27), dt.date(2024, 4, 7), dt.date(2024, 10, 6),
               dt.date(2024, 9, 29), dt.date(2024, 3, 16), dt.date(2024, 11, 2)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone=st.sampled_from(ZONES), cron=st.sampled_from(CRONS),
       day=st.one_of(st.sampled_from(TRANSITIONS),
                     st.dates(dt.date(2000, 1, 1), dt.date(2035, 12, 31))),
       nonexistent=st.sampled_from(list(DstNonexistent)),
       ambiguous=st.sampled_from(list(DstAmbiguous)),
       start_minute=st.integers(0, 36 * 60), resume_minute=st.integers(0, 36 * 60))
def test_fire_times_strictly_increase_and_resume_to_the_same_sequence(
        zone: str, cron: str, day: dt.date, nonexistent: DstNonexistent,
        ambiguous: DstAmbiguous, start_minute: int, resume_minute: int) -> None:
    schedule = sched(cron, zone, nonexistent=nonexistent, ambiguous=ambiguous)
    after = (dt.datetime.combine(day, dt.time(), UTC) - dt.timedelta(hours=14)
             + dt.timedelta(minutes=start_minute))
    until = after + dt.timedelta(hours=30)
    fires = list(fire_times(schedule, after=after, until=until))
    instants = [f.instant for f in fires]
    assert all(a < b for a, b in itertools.pairwise(instants)), instants
    assert all(after < i <= until for i in instants)
    tz = ZoneInfo(zone)
    assert all(f.local == f.instant.astimezone(tz) and f.instant.tzinfo is UTC for f in fires)
    # A daemon that resumes from any instant gets the rest of the same sequence: the
    # catch-up horizon depends on it.
    resume = after + dt.timedelta(minutes=resume_minute % (30 * 60))
    rest = [f.instant for f in fire_times(schedule, after=resume, until=until)]
    assert rest == [i for i in instants if i > resume]
    # limit gives a prefix.
    assert [f.instant for f in fire_times(schedule, after=after, until=until, limit=3)] \
        == instants[:3]
