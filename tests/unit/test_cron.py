"""Cron expressions: validation with precise errors, and iteration over wall-clock times."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lockgate.time.cron import CronExpression, parse_cron

JAN1 = dt.datetime(2024, 1, 1)


def first(expression: str, n: int, after: dt.datetime = JAN1) -> list[dt.datetime]:
    return list(itertools.islice(parse_cron(expression).iter_after(after), n))


@pytest.mark.parametrize(
    "expression",
    ["0 2 * * *", "*/15 * * * *", "0 9 * * MON-FRI", "0 0 L * *", "0 9 * * 1#2",
     "30 1 1,15 * *", "0 0 29 2 *", "0 2 * * 7", "*/5 * * * * *"],
)
def test_valid_expressions_are_accepted(expression: str) -> None:
    assert parse_cron(expression).expression == expression


def test_whitespace_is_normalized_and_equal_expressions_compare_equal() -> None:
    cron = parse_cron("  0   2 * *  * ")
    assert cron.expression == "0 2 * * *"
    assert cron == CronExpression("0 2 * * *")
    assert hash(cron) == hash(CronExpression("0 2 * * *"))
    assert repr(cron) == "CronExpression('0 2 * * *')"


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("60 * * * *", "the minute field '60' is invalid (accepts 0-59"),
        ("0 25 * * *", "the hour field '25' is invalid (accepts 0-23"),
        ("0 0 32 * *", "the day-of-month field '32' is invalid (accepts 1-31"),
        ("0 0 * 13 *", "the month field '13' is invalid (accepts 1-12 or JAN-DEC"),
        ("0 0 * * FUNDAY", "the day-of-week field 'FUNDAY' is invalid (accepts 0-7 or SUN-SAT"),
        ("*/0 * * * *", "the minute field '*/0' is invalid"),
        ("61 0 2 * * *", "the second field '61' is invalid (accepts 0-59"),
        ("0 2 * *", "has 4 fields; write 5 (minute hour day-of-month month day-of-week)"),
        ("0 2 * * * * *", "has 7 fields; write 5"),
        ("nightly", "has 1 field; write 5"),
        ("", "cron is empty; write 5 fields"),
        ("@reboot", "'@reboot' is not a nickname lockgate reads (it reads @yearly, "),
        ("@nightly", "write 5 fields (minute hour day-of-month month day-of-week)"),
        ("0 0 31 2 *", "'0 0 31 2 *' never fires (no date matches it)"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
    ],
)
def test_invalid_expressions_say_which_field_and_what_it_accepts(expression: str,
                                                                 says: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_cron(expression)
    assert says in str(info.value)


@pytest.mark.parametrize("value", [5, None, ["0", "2"]])
def test_cron_must_be_a_string(value: object) -> None:
    with pytest.raises(ValueError, match="cron must be a string like '0 2 \\* \\* \\*'"):
        parse_cron(value)  # type: ignore[arg-type]


def test_iter_after_yields_wall_clock_times_strictly_after() -> None:
    assert first("0 2 * * *", 3) == [
        dt.datetime(2024, 1, 1, 2), dt.datetime(2024, 1, 2, 2), dt.datetime(2024, 1, 3, 2)]
    assert first("0 2 * * *", 1, after=dt.datetime(2024, 1, 1, 2))[0] == dt.datetime(
        2024, 1, 2, 2)


def test_leap_day_fires_only_in_leap_years() -> None:
    assert first("0 0 29 2 *", 3) == [
        dt.datetime(2024, 2, 29), dt.datetime(2028, 2, 29), dt.datetime(2032, 2, 29)]


def test_last_day_of_month_and_nth_weekday() -> None:
    assert first("0 0 L * *", 2) == [dt.datetime(2024, 1, 31), dt.datetime(2024, 2, 29)]
    # the second Monday of each month
    assert first("0 9 * * 1#2", 2) == [dt.datetime(2024, 1, 8, 9), dt.datetime(2024, 2, 12, 9)]


def test_leading_seconds_field() -> None:
    cron = parse_cron("*/20 * * * * *")
    assert cron.has_seconds
    assert not parse_cron("0 * * * *").has_seconds
    assert first("*/20 * * * * *", 4) == [
        dt.datetime(2024, 1, 1, 0, 0, 20), dt.datetime(2024, 1, 1, 0, 0, 40),
        dt.datetime(2024, 1, 1, 0, 1), dt.datetime(2024, 1, 1, 0, 1, 20)]
    # the seconds field comes first; the other five read as usual
    assert first("30 0 2 * * *", 1) == [dt.datetime(2024, 1, 1, 2, 0, 30)]


def test_iter_before_goes_backwards() -> None:
    before = list(itertools.islice(parse_cron("0 2 * * *").iter_before(dt.datetime(2024, 1, 3)),
                                   3))
    assert before == [dt.datetime(2024, 1, 2, 2), dt.datetime(2024, 1, 1, 2),
                      dt.datetime(2023, 12, 31, 2)]


def test_iteration_refuses_aware_datetimes() -> None:
    aware = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="naive wall-clock"):
        next(parse_cron("0 2 * * *").iter_after(aware))
    with pytest.raises(ValueError, match="naive wall-clock"):
        next(parse_cron("0 2 * * *").iter_before(aware))


@pytest.mark.parametrize(
    ("nickname", "fields", "fires"),
    [
        ("@hourly", "0 * * * *", [dt.datetime(2024, 1, 1, 1), dt.datetime(2024, 1, 1, 2)]),
        ("@daily", "0 0 * * *", [dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 3)]),
        ("@midnight", "0 0 * * *", [dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 3)]),
        ("@weekly", "0 0 * * 0", [dt.datetime(2024, 1, 7), dt.datetime(2024, 1, 14)]),
        ("@monthly", "0 0 1 * *", [dt.datetime(2024, 2, 1), dt.datetime(2024, 3, 1)]),
        ("@yearly", "0 0 1 1 *", [dt.datetime(2025, 1, 1), dt.datetime(2026, 1, 1)]),
        ("@annually", "0 0 1 1 *", [dt.datetime(2025, 1, 1), dt.datetime(2026, 1, 1)]),
    ],
)
def test_nicknames_read_as_the_fields_they_stand_for(nickname: str, fields: str,
                                                      fires: list[dt.datetime]) -> None:
    cron = parse_cron(nickname)
    assert cron.expression == nickname
    assert cron.fields == tuple(fields.split(" "))
    assert first(nickname, 2) == fires == first(fields, 2)
    assert parse_cron(f" {nickname.upper()} ").expression == nickname
    assert cron.fires_at_most_hourly_apart() == (nickname == "@hourly")


def test_fires_at_most_hourly_apart() -> None:
    assert parse_cron("*/5 * * * *").fires_at_most_hourly_apart()
    assert parse_cron("0 * * * *").fires_at_most_hourly_apart()
    assert parse_cron("0 */10 * * * *").fires_at_most_hourly_apart()
    assert not parse_cron("0 2 * * *").fires_at_most_hourly_apart()
    assert not parse_cron("0 */2 * * *").fires_at_most_hourly_apart()


@pytest.mark.parametrize(
    "expression",
    ["0 */1 * * *", "0 0-23 * * *", "15 0-11,12-23 * * *", "0 */1 * * 1-5",
     "0 " + ",".join(str(h) for h in range(24)) + " * * *", "0 0 */1 * * *"],
)
def test_every_hour_written_any_way_fires_at_most_hourly_apart(expression: str) -> None:
    assert parse_cron(expression).fires_at_most_hourly_apart()


@pytest.mark.parametrize("expression", ["0 0-22 * * *", "0 1-23 * * *", "0 0 0-22 * * *"])
def test_a_cron_missing_one_hour_does_not_run_on_elapsed_time(expression: str) -> None:
    assert not parse_cron(expression).fires_at_most_hourly_apart()


@settings(max_examples=60, deadline=None)
@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    start=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1)),
)
def test_daily_cron_fires_once_a_day_in_order(minute: int, hour: int,
                                             start: dt.datetime) -> None:
    times = first(f"{minute} {hour} * * *", 5, after=start)
    assert all(t > start for t in times)
    assert all((t.hour, t.minute, t.second) == (hour, minute, 0) for t in times)
    assert [b - a for a, b in itertools.pairwise(times)] == [dt.timedelta(days=1)] * 4
    assert times[0] - start <= dt.timedelta(days=1)


@settings(max_examples=60, deadline=None)
@given(step=st.sampled_from([1, 2, 3, 5, 10, 15, 20, 30]),
       start=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1)))
def test_after_and_before_agree(step: int, start: dt.datetime) -> None:
    cron = parse_cron(f"*/{step} * * * *")
    nxt = next(cron.iter_after(start))
    assert next(cron.iter_before(nxt + dt.timedelta(microseconds=1))) == nxt
    assert next(cron.iter_before(nxt)) <= start
