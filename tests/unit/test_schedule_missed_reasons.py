"""Why a tick was missed: no daemon ran, or a standby waited for the decider lease."""

from __future__ import annotations

import datetime as dt

import pytest

from lockgate.daemon.schedules import decide_catchup
from lockgate.definitions import Catchup, Schedule
from lockgate.time.fire_times import fire_times

START = dt.datetime(2024, 5, 1, 0, 0, 30, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def hourly(catchup: Catchup) -> Schedule:
    return Schedule(
        name="hourly",
        cron="0 * * * *",
        target="etl",
        catchup=catchup,
        catchup_window=dt.timedelta(hours=6),
    )


def reasons(catchup: Catchup, *, standby_since: dt.datetime | None) -> dict[int, str | None]:
    """Ten hours without a decider, the last three of them with this daemon as standby."""
    schedule = hourly(catchup)
    now = START + 10 * HOUR
    due = list(fire_times(schedule, after=START, until=now, limit=100))
    decisions = decide_catchup(schedule, due, now, deciding_since=now, standby_since=standby_since)
    return {d.fire.instant.hour: d.reason for d in decisions}


@pytest.mark.parametrize("catchup", [Catchup.NONE, Catchup.LATEST])
def test_ticks_missed_while_a_standby_waited_say_so(catchup: Catchup) -> None:
    why = reasons(catchup, standby_since=START + 7 * HOUR - dt.timedelta(minutes=1))
    for hour in (1, 2, 3):  # older than the window: nobody ran
        assert why[hour] == "missed while no daemon ran; older than catchup_window 6h"
    for hour in (4, 5, 6):
        assert why[hour] is not None and why[hour].startswith("missed while no daemon ran")
    for hour in (7, 8, 9):
        assert why[hour] is not None and why[hour].startswith(
            "missed while no daemon held the decider lease"
        ), why[hour]
        assert "no daemon ran" not in why[hour]


def test_without_a_standby_every_missed_tick_was_missed_while_no_daemon_ran() -> None:
    why = reasons(Catchup.NONE, standby_since=None)
    assert all(r is None or r.startswith("missed while no daemon ran") for r in why.values())
    assert why[9] == "missed while no daemon ran (catchup: none)"
