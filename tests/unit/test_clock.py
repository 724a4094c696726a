"""The clock module: durations, the replaceable clock, zones and local date-times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lockgate.time import clock
from lockgate.time.clock import (
    UTC,
    FakeClock,
    format_duration,
    parse_duration,
    reset_clock,
    to_utc,
    use_clock,
    zone,
)
from lockgate.time.iso import parse_local_datetime


@pytest.fixture(autouse=True)
def _system_clock_after_each_test() -> Iterator[None]:
    yield
    reset_clock()


# -- parse_duration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("10m", 600),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        ("1h30m", 5400),
        ("1d2h3m4s", 93784),
        ("250ms", 0.25),
        ("1.5h", 5400),
        (" 5 m ", 300),
        ("10M", 600),
        ("0s", 0),
        ("300", 300),  # a bare number is seconds, e.g. from ${TIMEOUT:-300}
        (45, 45),
        (2.5, 2.5),
        (0, 0),
        (dt.timedelta(minutes=3), 180),
    ],
)
def test_parse_duration_accepts_units_numbers_and_timedeltas(text: object, seconds: float) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "is not a duration (write a number with a unit: 30s, 10m"),
        ("abc", "'abc' is not a duration (write a number with a unit"),
        ("10x", "'10x' is not a duration"),
        ("1mo", "'1mo' is not a duration"),
        ("m10", "'m10' is not a duration"),
        ("10 minutes", "'10 minutes' is not a duration; write '10m'"),
        ("5min", "write '5m'"),
        ("2 hours", "write '2h'"),
        ("3 days", "write '3d'"),
        ("-5s", "'-5s' is negative; a duration must be zero or more"),
        (-1, "-1 is negative"),
        (dt.timedelta(seconds=-1), "is negative"),
        (True, "True is not a duration"),
        (None, "None is not a duration"),
        ([1], "[1] is not a duration"),
    ],
)
def test_parse_duration_errors_name_the_value_and_the_forms(value: object, says: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(value)  # type: ignore[arg-type]
    assert says in str(info.value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (60, "1m"),
        (5400, "1h30m"),
        (86400 + 5, "1d5s"),
        (0.25, "250ms"),
        (-90, "-1m30s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(dt.timedelta(seconds=seconds)) == text
    assert format_duration(seconds) == text


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10 * 365 * 86400))
def test_format_then_parse_round_trips_whole_seconds(seconds: int) -> None:
    delta = dt.timedelta(seconds=seconds)
    assert parse_duration(format_duration(delta)) == delta


# -- the clock --------------------------------------------------------------------------


def test_now_is_aware_utc() -> None:
    now = clock.now()
    assert now.tzinfo is not None and now.utcoffset() == dt.timedelta(0)


def test_fake_clock_moves_only_when_told() -> None:
    start = dt.datetime(2024, 3, 10, 6, tzinfo=UTC)
    fake = FakeClock(start)
    use_clock(fake)
    assert clock.now() == start
    assert clock.now() == start
    assert fake.advance(dt.timedelta(hours=1)) == start + dt.timedelta(hours=1)
    assert fake.advance(30) == start + dt.timedelta(hours=1, seconds=30)
    assert clock.now() == start + dt.timedelta(hours=1, seconds=30)
    fake.set(dt.datetime(2030, 1, 1, 12, tzinfo=ZoneInfo("Europe/Berlin")))
    assert clock.now() == dt.datetime(2030, 1, 1, 11, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_reset_clock_puts_the_system_clock_back() -> None:
    use_clock(FakeClock(dt.datetime(2000, 1, 1, tzinfo=UTC)))
    assert clock.now().year == 2000
    reset_clock()
    assert clock.now().year >= 2024


def test_fake_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match=r"naive datetime .* give it a timezone"):
        FakeClock(dt.datetime(2024, 1, 1))


def test_to_utc_converts_zones() -> None:
    kolkata = dt.datetime(2024, 1, 1, 5, 30, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert to_utc(kolkata) == dt.datetime(2024, 1, 1, 0, 0, tzinfo=UTC)


# -- zones ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "Asia/Kathmandu", "Australia/Eucla"])
def test_zone_returns_the_iana_zone(name: str) -> None:
    assert zone(name) == ZoneInfo(name)


@pytest.mark.parametrize(
    ("name", "suggested"),
    [
        ("Europe/Berln", "'Europe/Berlin'"),
        ("America/NewYork", "'America/New_York'"),
        ("europe/berlin", "'Europe/Berlin'"),
    ],
)
def test_unknown_zone_suggests_close_names(name: str, suggested: str) -> None:
    with pytest.raises(ValueError) as info:
        zone(name)
    text = str(info.value)
    assert text.startswith(f"unknown timezone {name!r}; did you mean ")
    assert suggested in text
    assert "IANA name" in text


@pytest.mark.parametrize("name", ["", " UTC", "Not/AZone/AtAll", "../etc/passwd"])
def test_unknown_zone_always_names_the_accepted_form(name: str) -> None:
    with pytest.raises(ValueError, match=r"unknown timezone .*\(use an IANA name"):
        zone(name)


# -- local date-times -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-01", dt.datetime(2024, 1, 1)),
        ("2024-01-01T06:30", dt.datetime(2024, 1, 1, 6, 30)),
        ("2024-01-01T06:30:15", dt.datetime(2024, 1, 1, 6, 30, 15)),
        ("2024-01-01 06:30", dt.datetime(2024, 1, 1, 6, 30)),
        (" 2024-01-01 06:30:15 ", dt.datetime(2024, 1, 1, 6, 30, 15)),
        (dt.date(2024, 2, 29), dt.datetime(2024, 2, 29)),
        (dt.datetime(2024, 2, 29, 1, 2), dt.datetime(2024, 2, 29, 1, 2)),
    ],
)
def test_parse_local_datetime_accepts_dates_and_wall_clock_times(
        value: object, expected: dt.datetime) -> None:
    parsed = parse_local_datetime(value)  # type: ignore[arg-type]
    assert parsed == expected and parsed.tzinfo is None


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2024-13-01", "'2024-13-01' is not a valid date: month must be in 1..12"),
        ("2023-02-29", "is not a valid date: day is out of range for month"),
        ("2024-01-01T24:00", "is not a valid date-time: hour must be in 0..23"),
        ("2024-01-01T00:00+02:00", "carries a UTC offset or zone; write local time"),
        ("2024-01-01T00:00:00Z", "carries a UTC offset or zone"),
        ("yesterday", "'yesterday' is not a date or local date-time (write 2024-01-01"),
        ("01/02/2024", "is not a date or local date-time"),
        ("2024/01/01", "is not a date or local date-time"),
    ],
)
def test_parse_local_datetime_errors_say_what_is_wrong(value: str, says: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_local_datetime(value)
    assert says in str(info.value)


def test_parse_local_datetime_refuses_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="carries an offset; write local time and set"):
        parse_local_datetime(dt.datetime(2024, 1, 1, tzinfo=UTC))
