"""When a schedule fires: its cron on the wall clock of its zone, with explicit DST rules.

A cron names wall-clock times. On DST nights a wall-clock time may not exist (spring
forward) or happen twice (fall back); the schedule's ``dst`` policy decides:

- nonexistent: ``next`` fires at the first valid instant after the gap (02:30 on a New
  York spring-forward night fires at 03:00 EDT); ``skip`` does not fire.
- repeated: ``first``, ``last`` or ``both`` occurrences.

Crons that fire at least hourly (an hour field covering all 24 hours, written ``*``,
``*/1``, ``0-23`` or as a list) run on real elapsed time instead:
a repeated hour fires twice and a skipped hour never existed, whatever the policy,
so an hourly job runs every real hour, 23 or 25 times on DST days.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from lockgate.definitions import DstAmbiguous, DstNonexistent, Schedule
from lockgate.time import clock
from lockgate.time.cron import parse_cron
from lockgate.time.walltime import instant, occurrences, repeat_span

__all__ = ["FireTime", "fire_times", "previous_fire", "resolve_wall_time"]

# How far a DST rule can move an instant from its wall time's first reading near a
# transition; candidates are buffered over this span so that the output stays in time
# order. (Longer repeated stretches are covered by `repeat_span` where iteration starts.)
_REORDER = dt.timedelta(hours=3)


@dataclass(frozen=True, kw_only=True, slots=True)
class FireTime:
    instant: dt.datetime  # UTC
    wall: dt.datetime  # the naive wall-clock time the cron matched
    local: dt.datetime  # the instant in the schedule's zone
    note: str | None = None  # the DST decision, when one was made


def _near_transition(zone: ZoneInfo, when: dt.datetime) -> bool:
    """Whether the zone's UTC offset changes within the reorder span around ``when``;
    elsewhere wall times map to instants in order and need no buffering."""
    before = (when - _REORDER).astimezone(zone).utcoffset()
    after = (when + _REORDER).astimezone(zone).utcoffset()
    return before != after


def resolve_wall_time(zone: ZoneInfo, wall: dt.datetime) -> tuple[str, list[dt.datetime]]:
    """``("normal" | "gap" | "fold", instants)`` for a naive wall-clock time in ``zone``.

    A gap gives the transition instant (the first valid instant after the gap); a fold
    gives both instants, earliest first.
    """
    found = [instant(o.epoch) for o in occurrences(zone, wall, both=True)]
    if len(found) == 2:
        return "fold", found
    local = found[0].astimezone(zone).replace(tzinfo=None)
    return ("normal" if local == wall else "gap"), found


def _decide(schedule: Schedule, elapsed: bool, kind: str, wall: dt.datetime,
            found: list[dt.datetime], zone: ZoneInfo) -> list[tuple[dt.datetime, str | None]]:
    if kind == "normal":
        return [(found[0], None)]
    shown = wall.strftime("%Y-%m-%d %H:%M:%S" if wall.second else "%Y-%m-%d %H:%M")
    if kind == "gap":
        if elapsed:
            return []
        if schedule.dst_nonexistent is DstNonexistent.SKIP:
            return []
        at = found[0].astimezone(zone).strftime("%H:%M %Z")
        return [(found[0], f"{shown} does not exist (DST gap); fired at {at} (dst: next)")]
    first, last = found
    if elapsed or schedule.dst_ambiguous is DstAmbiguous.BOTH:
        why = "elapsed time" if elapsed else "dst: both"
        return [(first, f"{shown} occurs twice; first occurrence ({why})"),
                (last, f"{shown} occurs twice; second occurrence ({why})")]
    if schedule.dst_ambiguous is DstAmbiguous.LAST:
        return [(last, f"{shown} occurs twice; fired at the second (dst: last)")]
    return [(first, f"{shown} occurs twice; fired at the first (dst: first)")]


def fire_times(schedule: Schedule, *, after: dt.datetime, until: dt.datetime | None = None,
               limit: int | None = None) -> Iterator[FireTime]:
    """Fire instants strictly after ``after`` (and at or before ``until``), in order."""
    cron = parse_cron(schedule.cron)
    zone = clock.zone(schedule.timezone)
    elapsed = cron.fires_at_most_hourly_apart()
    after = clock.to_utc(after)
    until = clock.to_utc(until) if until is not None else None
    margin = _REORDER if _near_transition(zone, after) else dt.timedelta(0)
    # Inside a repeated stretch, walls from the stretch's start still fire after `after`
    # (the clock went back by up to seven hours, at Vostok in 1994).
    reading = after.astimezone(zone).replace(tzinfo=None)
    start_wall = min((after - margin).astimezone(zone).replace(tzinfo=None),
                     reading - repeat_span(zone, reading))
    heap: list[tuple[dt.datetime, dt.datetime, str | None]] = []
    out: list[FireTime] = []

    def release(horizon: dt.datetime | None) -> bool:
        """Move candidates at or before ``horizon`` (all, given None) to ``out``;
        False once ``until`` or ``limit`` is reached."""
        while heap and (horizon is None or heap[0][0] <= horizon):
            when, wall, note = heapq.heappop(heap)
            if until is not None and when > until:
                return False
            if out and when == out[-1].instant:  # `next` can land on another time's instant
                continue
            out.append(FireTime(instant=when, wall=wall, local=when.astimezone(zone), note=note))
            if limit is not None and len(out) >= limit:
                return False
        return True

    emitted = 0
    going = True
    for wall in cron.iter_after(start_wall):
        kind, found = resolve_wall_time(zone, wall)
        for when, note in _decide(schedule, elapsed, kind, wall, found, zone):
            if when > after:
                heapq.heappush(heap, (when, wall, note))
        horizon = found[0] - _REORDER if _near_transition(zone, found[0]) else found[0]
        going = release(horizon)
        yield from out[emitted:]
        emitted = len(out)
        if not going or (until is not None and horizon > until):
            break
    if going:
        release(None)
        yield from out[emitted:]


def previous_fire(schedule: Schedule, before: dt.datetime) -> dt.datetime | None:
    """The schedule's last fire instant strictly before ``before`` (None if none in the
    past 400 days)."""
    cron = parse_cron(schedule.cron)
    zone = clock.zone(schedule.timezone)
    elapsed = cron.fires_at_most_hourly_apart()
    before = clock.to_utc(before)
    floor = before - dt.timedelta(days=400)
    margin = _REORDER if _near_transition(zone, before) else dt.timedelta(seconds=1)
    # In the second pass of a repeated stretch, the first pass's later walls fired before.
    reading = before.astimezone(zone).replace(tzinfo=None)
    start_wall = max((before + margin).astimezone(zone).replace(tzinfo=None),
                     reading + repeat_span(zone, reading) + dt.timedelta(seconds=1))
    best: dt.datetime | None = None
    for wall in cron.iter_before(start_wall):
        kind, found = resolve_wall_time(zone, wall)
        for when, _note in _decide(schedule, elapsed, kind, wall, found, zone):
            if when < before and (best is None or when > best):
                best = when
        # Walls further back map to earlier instants, past the reorder span near a
        # transition and at once elsewhere.
        span = _REORDER if _near_transition(zone, found[-1]) else dt.timedelta(0)
        if (best is not None and found[-1] < best - span) or found[-1] < floor:
            break
    return best
