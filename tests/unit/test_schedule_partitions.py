"""Which partitions a schedule tick requests: those that closed since the previous tick."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from lockgate.daemon.schedules import partition_for_tick
from lockgate.definitions import DstAmbiguous, DstNonexistent, Schedule
from lockgate.settings import load_definitions
from lockgate.time.fire_times import fire_times, previous_fire

UTC = dt.UTC


def defs_with(tmp_path: Path, asset_partitions: str, cron: str, tz: str = "UTC",
              offset: int = 0):
    (tmp_path / "lockgate.yaml").write_text(f"""
assets:
  a:
    partitions: {asset_partitions}
    command: ["true"]
schedules:
  s: {{cron: "{cron}", timezone: {tz}, target: a, partition_offset: {offset}}}
""")
    return load_definitions(tmp_path / "lockgate.yaml")


def keys_at(defs, instant: dt.datetime):
    s = defs.schedules["s"]
    return partition_for_tick(defs, s, instant, previous_fire(s, instant))


def test_nightly_berlin_schedule_asks_for_yesterday_even_on_the_short_night(tmp_path):
    defs = defs_with(tmp_path, "{cadence: daily, start: 2024-01-01, timezone: Europe/Berlin}",
                     "0 2 * * *", "Europe/Berlin")
    # 2024-03-31: 02:00 does not exist in Berlin; the tick fires at 03:00 CEST (01:00Z).
    assert keys_at(defs, dt.datetime(2024, 3, 31, 1, tzinfo=UTC)) == (["2024-03-30"], None)
    assert keys_at(defs, dt.datetime(2024, 4, 1, 0, tzinfo=UTC)) == (["2024-03-31"], None)


def test_daily_schedule_on_an_hourly_asset_asks_for_the_whole_day(tmp_path):
    defs = defs_with(tmp_path, "{cadence: hourly, start: '2024-11-01T00:00', "
                     "timezone: America/New_York}", "0 0 * * *", "America/New_York")
    keys, reason = keys_at(defs, dt.datetime(2024, 11, 4, 5, tzinfo=UTC))  # midnight EST
    assert reason is None
    assert len(keys) == 25  # 2024-11-03 had 25 hours in New York
    assert keys[0] == "2024-11-03-00:00" and keys[-1] == "2024-11-03-23:00"


def test_hourly_schedule_on_a_daily_asset_asks_once_a_day(tmp_path):
    defs = defs_with(tmp_path, "{cadence: daily, start: 2024-01-01}", "0 * * * *")
    asked = {}
    s = defs.schedules["s"]
    for fire in fire_times(s, after=dt.datetime(2024, 5, 1, 12, tzinfo=UTC),
                           until=dt.datetime(2024, 5, 3, 12, tzinfo=UTC)):
        keys, reason = keys_at(defs, fire.instant)
        asked[fire.instant] = keys
        assert keys or "closed since the previous tick" in (reason or "")
    assert [(t.isoformat(), k) for t, k in asked.items() if k] == [
        ("2024-05-02T00:00:00+00:00", ["2024-05-01"]),
        ("2024-05-03T00:00:00+00:00", ["2024-05-02"]),
    ]


def test_partition_offset_shifts_the_requested_partitions(tmp_path):
    defs = defs_with(tmp_path, "{cadence: daily, start: 2024-01-01}", "0 2 * * *", offset=-1)
    assert keys_at(defs, dt.datetime(2024, 5, 10, 2, tzinfo=UTC)) == (["2024-05-08"], None)


def test_before_the_first_partition_closed_the_tick_is_skipped_with_a_reason(tmp_path):
    defs = defs_with(tmp_path, "{cadence: daily, start: 2024-05-10}", "0 2 * * *")
    keys, reason = keys_at(defs, dt.datetime(2024, 5, 10, 2, tzinfo=UTC))
    assert keys == [] and "has closed yet" in (reason or "")


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
CRONS = ["0 2 * * *", "30 2 * * *", "30 1 * * *", "0 * * * *", "*/15 * * * *", "45 1 * * *"]
SPANS = [(dt.datetime(2024, 3, 8, tzinfo=UTC), dt.datetime(2024, 3, 12, tzinfo=UTC)),
         (dt.datetime(2024, 3, 29, tzinfo=UTC), dt.datetime(2024, 4, 8, tzinfo=UTC)),
         (dt.datetime(2024, 10, 4, tzinfo=UTC), dt.datetime(2024, 10, 8, tzinfo=UTC)),
         (dt.datetime(2024, 10, 25, tzinfo=UTC), dt.datetime(2024, 11, 5, tzinfo=UTC))]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("cron", CRONS)
def test_previous_fire_is_the_fire_time_just_before(zone: str, cron: str) -> None:
    # Crons that fire at least hourly run on elapsed time: the DST policy plays no part.
    elapsed = cron.split()[1] == "*"
    for ambiguous in [DstAmbiguous.FIRST] if elapsed else list(DstAmbiguous):
        for nonexistent in [DstNonexistent.NEXT] if elapsed else list(DstNonexistent):
            s = Schedule(name="s", cron=cron, target="a", timezone=zone,
                         dst_ambiguous=ambiguous, dst_nonexistent=nonexistent)
            for start, end in SPANS:
                fires = [f.instant for f in fire_times(s, after=start, until=end)]
                for earlier, later in itertools.pairwise(fires):
                    assert previous_fire(s, later) == earlier
