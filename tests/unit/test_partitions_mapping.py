"""Partition mappings between assets: identity, across cadences and DST days, offsets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lockgate.definitions import PartitionsSpec
from lockgate.partitions import (
    PartitionKeyError,
    PartitionMappingError,
    PartitionSet,
    downstream_keys,
    partitions_for,
    upstream_keys,
)

NOW = dt.datetime(2025, 1, 2, 12, tzinfo=dt.UTC)
START = dt.datetime(2024, 1, 1)


def tw(cadence: str, tz: str = "America/New_York", **kw: Any) -> PartitionSet:
    return partitions_for(PartitionsSpec(cadence=cadence, start=START, timezone=tz, **kw))


HOURLY = tw("hourly")
DAILY = tw("daily")
WEEKLY = tw("weekly")
STATIC = partitions_for(PartitionsSpec(keys=("eu", "us", "apac")))


@pytest.mark.parametrize(
    ("day", "hours"), [("2024-03-10", 23), ("2024-11-03", 25), ("2024-06-01", 24)]
)
def test_daily_depends_on_the_hours_of_its_local_day(day: str, hours: int) -> None:
    keys = upstream_keys(DAILY, day, HOURLY, now=NOW)
    assert len(keys) == hours
    assert keys[0] == f"{day}-00:00" and keys[-1] == f"{day}-23:00"
    assert keys == [k for k in HOURLY.keys(NOW) if k.startswith(day)]


def test_weekly_depends_on_its_seven_days() -> None:
    assert upstream_keys(WEEKLY, "2024-03-04", DAILY, now=NOW) == [
        "2024-03-04",
        "2024-03-05",
        "2024-03-06",
        "2024-03-07",
        "2024-03-08",
        "2024-03-09",
        "2024-03-10",
    ]


def test_identity_for_the_same_definition() -> None:
    same = tw("daily")
    assert upstream_keys(DAILY, "2024-05-05", same, now=NOW) == ["2024-05-05"]
    assert downstream_keys(same, ["2024-05-05", "2024-05-01"], DAILY, now=NOW) == [
        "2024-05-01",
        "2024-05-05",
    ]


def test_offset_minus_one_depends_on_the_previous_window() -> None:
    assert upstream_keys(DAILY, "2024-05-05", DAILY, offset=-1, now=NOW) == ["2024-05-04"]
    prev = upstream_keys(DAILY, "2024-03-11", HOURLY, offset=-1, now=NOW)
    assert len(prev) == 23 and prev[0] == "2024-03-10-00:00"
    # The first day's previous day lies before the upstream start: nothing exists.
    assert upstream_keys(DAILY, "2024-01-01", DAILY, offset=-1, now=NOW) == []


def test_downstream_keys_invert_upstream_keys_with_offsets() -> None:
    assert downstream_keys(HOURLY, ["2024-03-10-05:00"], DAILY, now=NOW) == ["2024-03-10"]
    assert downstream_keys(HOURLY, ["2024-03-10-05:00"], DAILY, offset=-1, now=NOW) == [
        "2024-03-11"
    ]
    assert downstream_keys(HOURLY, ["2024-03-10-05:00"], DAILY, offset=1, now=NOW) == ["2024-03-09"]
    assert downstream_keys(DAILY, ["2024-03-06"], WEEKLY, now=NOW) == ["2024-03-04"]


def test_downstream_keys_of_a_backfill_range_across_dst() -> None:
    hours = HOURLY.keys_between("2024-11-02-23:00", "2024-11-04-00:00", NOW)
    assert downstream_keys(HOURLY, hours, DAILY, now=NOW) == [
        "2024-11-02",
        "2024-11-03",
        "2024-11-04",
    ]


def test_downstream_mapping_is_consistent_with_upstream_mapping() -> None:
    days = DAILY.keys(NOW)[60:75]
    for day in days:
        ups = upstream_keys(DAILY, day, HOURLY, offset=-1, now=NOW)
        assert day in downstream_keys(HOURLY, ups, DAILY, offset=-1, now=NOW)


def test_cross_zone_days_overlap_two_upstream_days() -> None:
    berlin = tw("daily", "Europe/Berlin")
    assert upstream_keys(DAILY, "2024-06-01", berlin, now=NOW) == ["2024-06-01", "2024-06-02"]


def test_only_existing_upstream_partitions_are_listed() -> None:
    now = dt.datetime(2024, 6, 1, 10, tzinfo=dt.UTC)  # 06:00 in New York
    assert len(upstream_keys(DAILY, "2024-05-31", HOURLY, now=now)) == 24
    with pytest.raises(PartitionKeyError):
        upstream_keys(DAILY, "2024-06-01x", HOURLY, now=now)
    assert downstream_keys(HOURLY, ["2024-06-01-03:00"], DAILY, now=now) == []


def test_unpartitioned_assets() -> None:
    assert upstream_keys(None, None, DAILY, now=NOW) == DAILY.keys(NOW)
    assert upstream_keys(DAILY, "2024-01-01", None, now=NOW) == []
    assert downstream_keys(DAILY, ["2024-01-01"], None, now=NOW) == []
    assert downstream_keys(None, [], DAILY, now=NOW) == DAILY.keys(NOW)


def test_static_identity_and_incompatible_sets() -> None:
    other = partitions_for(PartitionsSpec(keys=("us", "eu")))
    assert upstream_keys(STATIC, "eu", other, now=NOW) == ["eu"]
    assert upstream_keys(STATIC, "apac", other, now=NOW) == []
    assert downstream_keys(other, ["us"], STATIC, now=NOW) == ["us"]
    with pytest.raises(PartitionMappingError, match="static keys"):
        upstream_keys(DAILY, "2024-01-01", STATIC, now=NOW)
    with pytest.raises(PartitionMappingError, match="offset"):
        upstream_keys(STATIC, "eu", other, offset=-1, now=NOW)


def test_bulk_downstream_mapping_of_a_year_of_hours() -> None:
    hours = HOURLY.keys(NOW)
    days = downstream_keys(HOURLY, hours, DAILY, now=NOW)
    assert days == DAILY.keys(NOW)
