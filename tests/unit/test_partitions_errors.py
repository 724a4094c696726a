"""Bad keys, bad ranges and bad definitions: each error names the value, format and range."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lockgate.definitions import PartitionsSpec
from lockgate.errors import ConfigError, UsageError
from lockgate.partitions import (
    PartitionKeyError,
    PartitionRangeError,
    TimeWindowPartitions,
    partitions_for,
)

NOW = dt.datetime(2024, 4, 1, tzinfo=dt.UTC)


def daily(**kw: Any) -> TimeWindowPartitions:
    spec = PartitionsSpec(cadence="daily", start=dt.datetime(2024, 1, 1), **kw)
    return TimeWindowPartitions(spec)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("2024-13-01", "does not parse"),
        ("01/02/2024", "does not parse"),
        ("2024-1-5", "is not the start of a daily partition"),
        ("2023-12-31", "is before the start"),
        ("2024-04-01", "does not exist yet"),
        ("2024-02-01-05:00", "does not parse"),
    ],
)
def test_bad_key_message_names_key_format_and_range(key: str, reason: str) -> None:
    with pytest.raises(PartitionKeyError) as info:
        daily().parse_key(key, NOW)
    err = info.value
    assert isinstance(info.value, UsageError)
    assert err.exit_code == 2
    assert err.key == key
    assert reason in str(err)
    assert f"{key!r}" in str(err)
    assert "format %Y-%m-%d (e.g. 2024-01-31)" in str(err)
    assert "2024-01-01 .. 2024-03-31 (91 partitions)" in str(err)


def test_hourly_key_error_shows_the_hourly_format() -> None:
    parts = partitions_for(
        PartitionsSpec(cadence="hourly", start=dt.datetime(2024, 1, 1), timezone="UTC")
    )
    with pytest.raises(PartitionKeyError, match=r"format %Y-%m-%d-%H:%M \(e.g. 2024-01-31-13:00\)"):
        parts.parse_key("2024-01-01", NOW)
    with pytest.raises(PartitionKeyError, match="is not the start of a hourly partition"):
        parts.window("2024-01-01-05:30")


def test_window_of_malformed_key_names_the_definition_range() -> None:
    with pytest.raises(PartitionKeyError, match=r"valid keys: 2024-01-01 onwards"):
        daily().window("yesterday")
    ended = daily(end=dt.datetime(2024, 2, 1))
    with pytest.raises(PartitionKeyError, match=r"2024-01-01 \.\. \(ending by 2024-02-01"):
        ended.window("2024-02-01")


def test_no_partitions_yet_is_said_in_the_range() -> None:
    with pytest.raises(PartitionKeyError, match="none yet"):
        daily().parse_key("2024-01-01", dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC))


def test_reversed_range_is_refused() -> None:
    with pytest.raises(PartitionRangeError, match="swap them") as info:
        daily().keys_between("2024-02-01", "2024-01-01", NOW)
    assert (info.value.first, info.value.last) == ("2024-02-01", "2024-01-01")
    assert info.value.exit_code == 2


def test_range_with_unknown_end_names_the_bad_key() -> None:
    with pytest.raises(PartitionKeyError) as info:
        daily().keys_between("2024-01-01", "2024-05-01", NOW)
    assert info.value.key == "2024-05-01"


@pytest.mark.parametrize(
    ("spec", "path", "text"),
    [
        (dict(cadence="fortnightly"), "partitions.cadence", "unknown cadence"),
        (dict(cadence="daily", timezone="Europe/Berln"), "partitions.timezone", "Europe/Berlin"),
        (dict(cadence="hourly", hour_offset=3), "partitions.hour_offset", "does not apply"),
        (dict(cadence="daily", day_offset=2), "partitions.day_offset", "does not apply"),
        (dict(cadence="daily", minute_offset=75), "partitions.minute_offset", "out of range"),
        (dict(cadence="cron", cron="0 25 * * *"), "partitions.cron", "cron"),
        (dict(cadence="cron"), "partitions.cron", "needs a `cron`"),
        (dict(cadence="daily", format="%Y-%m"), "partitions.format", "same key"),
        (dict(cadence="hourly", format="%Y-%m-%d %H"), None, None),
        (dict(cadence="daily", end=dt.datetime(2023, 1, 1)), "partitions.end", "not after"),
    ],
)
def test_bad_definitions_are_config_errors_at_the_key(
    spec: dict[str, Any], path: str | None, text: str | None
) -> None:
    full = PartitionsSpec(start=dt.datetime(2024, 1, 1), **spec)
    if path is None:  # a valid unusual format
        TimeWindowPartitions(full)
        return
    with pytest.raises(ConfigError) as info:
        TimeWindowPartitions(full)
    assert info.value.path == path
    assert text is not None and text in str(info.value)
    assert info.value.hint


def test_static_keys_must_be_distinct() -> None:
    with pytest.raises(ConfigError, match="duplicate partition key 'eu'"):
        partitions_for(PartitionsSpec(keys=("eu", "us", "eu")))
