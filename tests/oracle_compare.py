"""lockgate's partitions and fire times against :mod:`tz_oracle`, around zone transitions.

Used by ``tests/unit/test_partitions_oracle.py`` and, for the wide sweep (every zone,
1970-2037, hourly and daily), run as a script::

    .venv/bin/python tests/oracle_compare.py [FIRST_YEAR LAST_YEAR] [--fires-only]
"""

from __future__ import annotations

import datetime as dt
import sys
import zoneinfo

import tz_oracle

from lockgate.definitions import PartitionsSpec
from lockgate.partitions import TimeWindowPartitions

UTC = dt.UTC
CADENCES = {
    # name: (spec fields, nominal step, phase, elapsed, key format)
    "hourly": ({"cadence": "hourly"}, 3600, 0, True, "%Y-%m-%d-%H:%M"),
    "daily": ({"cadence": "daily"}, 86400, 0, False, "%Y-%m-%d"),
    "every_hour_cron": (
        {"cadence": "cron", "cron": "0 */1 * * *"},
        3600,
        0,
        True,
        "%Y-%m-%d-%H:%M",
    ),
}


def transitions(zone: str, first_year: int, last_year: int) -> list[int]:
    """UTC epochs where ``zone``'s offset changes, in the years given."""
    start = int(dt.datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    end = int(dt.datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp())
    segs = tz_oracle.segments(zoneinfo.ZoneInfo(zone), start, end)
    return [a for a, _, _ in segs[1:]]


def compare(zone: str, around: int, cadence: str, *, fresh: bool = True) -> list[str]:
    """Disagreements between lockgate and the oracle within two days of ``around``."""
    fields, step, phase, elapsed, fmt = CADENCES[cadence]
    s = dt.datetime.fromtimestamp(around - 2 * 86400, UTC)
    e = dt.datetime.fromtimestamp(around + 2 * 86400, UTC)
    local_start = (s - dt.timedelta(days=2)).astimezone(zoneinfo.ZoneInfo(zone))
    spec = PartitionsSpec(
        start=dt.datetime(local_start.year, local_start.month, local_start.day),
        timezone=zone,
        **fields,
    )
    parts = TimeWindowPartitions(spec)
    now = e + dt.timedelta(days=3)
    keys = parts.keys(now)
    windows = parts.windows_for(keys, now)
    got = [(int(w.start.timestamp()), k) for k, w in zip(keys, windows, strict=True)]
    got = [(t, k) for t, k in got if s.timestamp() <= t < e.timestamp()]
    bounds = tz_oracle.boundaries(zone, s, e, step=step, phase=phase, elapsed=elapsed)
    # The oracle's first boundary in range may be a repeat whose first pass is before s.
    expected = list(zip([b.epoch for b in bounds], tz_oracle.keys(bounds, fmt), strict=True))
    problems: list[str] = []
    where = f"{zone} {cadence} around {dt.datetime.fromtimestamp(around, UTC):%Y-%m-%dT%H:%MZ}"
    if got != expected:
        extra = sorted(set(got) - set(expected))[:3]
        missing = sorted(set(expected) - set(got))[:3]
        problems.append(f"{where}: lockgate has {extra}, oracle has {missing}")
    picked = [k for _, k in got]
    if sorted(picked) != picked:
        problems.append(f"{where}: keys do not sort like time: {picked}")
    if fresh:
        index = {k: w for k, w in zip(keys, windows, strict=True)}
        near = [k for t, k in got if abs(t - around) <= 12 * 3600]
        for key in near:
            other = TimeWindowPartitions(spec)
            try:
                w = other.window(key)
                k = other.key_for(index[key].start)
            except Exception as exc:  # report every disagreement, not the first
                problems.append(f"{where}: fresh set on {key!r}: {exc}")
                continue
            if w != index[key] or k != key:
                problems.append(
                    f"{where}: fresh window of {key!r} is {w}, generated "
                    f"{index[key]}; key_for gives {k!r}"
                )
    return problems


def compare_fires(zone: str, around: int) -> list[str]:
    """Disagreements in hourly and midnight fire times within a day of ``around``."""
    from lockgate.definitions import Schedule
    from lockgate.time.fire_times import fire_times

    at = dt.datetime.fromtimestamp(around, UTC)
    start, end = at - dt.timedelta(days=1), at + dt.timedelta(days=1)
    problems: list[str] = []
    hours = tz_oracle.boundaries(zone, start, end, step=3600, phase=0, elapsed=True, jumps=False)
    days = tz_oracle.boundaries(zone, start, end, step=86400, phase=0, elapsed=False)
    for cron, bounds in (("0 */1 * * *", hours), ("0 0 * * *", days)):
        schedule = Schedule(name="s", cron=cron, target="job", timezone=zone)
        last = end - dt.timedelta(seconds=1)
        got = [int(f.instant.timestamp()) for f in fire_times(schedule, after=start, until=last)]
        expected = [b.epoch for b in bounds if b.epoch > start.timestamp()]
        if got != expected:
            extra = sorted(set(got) - set(expected))[:3]
            missing = sorted(set(expected) - set(got))[:3]
            problems.append(
                f"{zone} {cron!r} around {at:%Y-%m-%dT%H:%MZ}: lockgate fires {extra}, "
                f"oracle {missing}"
            )
    return problems


def sweep(first_year: int, last_year: int, *, fires_only: bool = False) -> int:
    count = 0
    bad = 0
    start = int(dt.datetime(first_year, 1, 1, tzinfo=UTC).timestamp())
    end = int(dt.datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp())
    done: set[tuple[tuple[int, int, int], ...]] = set()
    for zone in sorted(zoneinfo.available_timezones()):
        segs = tuple(tz_oracle.segments(zoneinfo.ZoneInfo(zone), start, end))
        if segs in done:  # a link to a zone already compared
            continue
        done.add(segs)
        for t in [a for a, _, _ in segs[1:]]:
            count += 1
            for problem in compare_fires(zone, t):
                bad += 1
                print(problem, flush=True)
            if fires_only:
                continue
            for cadence in ("hourly", "daily"):
                for problem in compare(zone, t, cadence, fresh=cadence == "hourly"):
                    bad += 1
                    print(problem, flush=True)
    print(f"{count} transitions compared, {bad} disagreements")
    return 1 if bad else 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--fires-only"]
    years = [int(a) for a in args[:2]] or [1970, 2037]
    raise SystemExit(sweep(years[0], years[-1], fires_only="--fires-only" in sys.argv))
