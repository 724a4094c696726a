"""The time package is where lockgate reads the clock and writes instants as text."""

from __future__ import annotations

import datetime as dt
import re
import sys
import time as stdlib_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lockgate.time.iso import format_iso

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("lockgate", "partitions", "sensors", "daemon")
TIME_PACKAGE = ROOT / "lockgate" / "time"
CLOCK_READS = re.compile(
    r"\bdatetime\.(now|utcnow|today)\(|\bdate\.today\(|\btime\.(time|time_ns|monotonic|"
    r"monotonic_ns|perf_counter|strftime|localtime|gmtime|ctime)\(|\bpendulum\.now\("
)


def test_only_the_time_package_reads_the_clock() -> None:
    found = []
    for folder in PRODUCTION:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if TIME_PACKAGE in path.parents:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if CLOCK_READS.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_time_package_itself_reads_the_clock() -> None:
    # Keeps the scan above honest: its pattern matches how the clock is really read.
    source = (TIME_PACKAGE / "clock.py").read_text()
    assert CLOCK_READS.search(source)


def test_import_time_inside_lockgate_is_the_standard_library() -> None:
    import lockgate.cli.run_logs
    import lockgate.time
    import lockgate.time.clock

    assert lockgate.cli.run_logs.time is stdlib_time
    assert lockgate.time.clock._time is stdlib_time
    assert sys.modules["time"] is stdlib_time
    assert lockgate.time is not stdlib_time


@pytest.mark.parametrize(
    ("value", "timespec", "text"),
    [
        (dt.datetime(2024, 3, 10, 7, tzinfo=dt.UTC), "auto", "2024-03-10T07:00:00Z"),
        (dt.datetime(2024, 3, 10, 7, 0, 1, 250_000, tzinfo=dt.UTC), "milliseconds",
         "2024-03-10T07:00:01.250Z"),
        (dt.datetime(2024, 3, 10, 7, 0, 0, 5, tzinfo=dt.UTC), "auto",
         "2024-03-10T07:00:00.000005Z"),
        (dt.datetime(2024, 3, 10, 7, tzinfo=ZoneInfo("Asia/Kathmandu")), "auto",
         "2024-03-10T07:00:00+05:45"),
        (dt.datetime(2024, 3, 10, 7), "auto", "2024-03-10T07:00:00"),
    ],
)
def test_format_iso_writes_utc_as_z_and_keeps_other_offsets(
    value: dt.datetime, timespec: str, text: str
) -> None:
    assert format_iso(value, timespec=timespec) == text
