"""Partition keys and windows: ten years of hourly partitions in America/New_York.

Figures (medians of ``--runs`` runs, each on a fresh partition set, so nothing is cached):

- listing all 87,672 hourly keys 2015-01-01 .. 2025-01-01: target at most 0.1 s
  (Dagster 1.13 took about 2 s on this kind of machine);
- ``windows_for`` over those keys (a backfill's launch needs every window): target at
  most 0.3 s, as a part of the 2 s budget of launching such a backfill;
- ``windows_for`` over every other key (not one consecutive range): same target;
- mapping all those hours onto their daily downstream partitions: target at most 0.3 s;
- the same keys again on a set that has them cached (what a daemon sees): for comparison.

    python bench/bench_partitions.py [--runs 15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Figure, finish, median_seconds, report

from lockgate.definitions import PartitionsSpec
from lockgate.partitions import TimeWindowPartitions, downstream_keys

HOURLY = PartitionsSpec(
    cadence="hourly",
    start=dt.datetime(2015, 1, 1),
    end=dt.datetime(2025, 1, 1),
    timezone="America/New_York",
)
DAILY = PartitionsSpec(
    cadence="daily",
    start=dt.datetime(2015, 1, 1),
    end=dt.datetime(2025, 1, 1),
    timezone="America/New_York",
)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
EXPECTED = 87_672


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs

    keys = TimeWindowPartitions(HOURLY).keys(NOW)
    if len(keys) != EXPECTED:
        sys.exit(f"expected {EXPECTED} hourly keys, got {len(keys)}")

    def list_keys() -> None:
        TimeWindowPartitions(HOURLY).keys(NOW)

    def windows(selection: list[str]) -> None:
        parts = TimeWindowPartitions(HOURLY)
        parts.windows_for(selection, NOW)

    def mapping() -> None:
        hours = TimeWindowPartitions(HOURLY)
        days = TimeWindowPartitions(DAILY)
        downstream_keys(hours, keys, days, now=NOW)

    cached = TimeWindowPartitions(HOURLY)
    cached.windows_for(keys, NOW)

    label = "hourly keys 2015..2025 America/New_York"
    report(
        Figure(
            name=label,
            value=median_seconds(list_keys, runs=runs),
            unit="s",
            target=0.1,
            note=f"{EXPECTED} keys, fresh set",
        )
    )
    report(
        Figure(
            name="windows_for the same 87,672 keys",
            value=median_seconds(lambda: windows(keys), runs=runs),
            unit="s",
            target=0.3,
            note="fresh set, includes generating",
        )
    )
    report(
        Figure(
            name="windows_for every other key (43,836)",
            value=median_seconds(lambda: windows(keys[::2]), runs=runs),
            unit="s",
            target=0.3,
            note="fresh set, includes generating",
        )
    )
    report(
        Figure(
            name="map 87,672 hours onto daily partitions",
            value=median_seconds(mapping, runs=runs),
            unit="s",
            target=0.3,
            note="fresh sets",
        )
    )
    report(
        Figure(
            name="keys + windows_for again, cached set",
            value=median_seconds(lambda: cached.windows_for(cached.keys(NOW), NOW), runs=runs),
            unit="s",
        )
    )
    return finish()


if __name__ == "__main__":
    sys.exit(main())
