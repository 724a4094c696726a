"""Wall-clock times in a zone, turned into instants with explicit DST rules.

Instants are integer seconds since the Unix epoch (UTC); partition arithmetic stays in
integers and turns into ``datetime`` only at the edge. Rules, for a naive local time:

- it exists once: that instant;
- it does not exist (spring forward skips it): the first instant after the gap, i.e.
  the transition itself (02:30 on a New York spring-forward night is 03:00 EDT);
- it exists twice (fall back): both instants, earliest first; calendar cadences use
  only the first, elapsed-time cadences (hourly) use both.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple
from zoneinfo import ZoneInfo

__all__ = [
    "EPOCH_ORDINAL",
    "Occurrence",
    "format_offset",
    "instant",
    "naive_epoch",
    "occurrences",
    "repeat_span",
    "to_epoch",
]

UTC = dt.UTC
EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
"""The proleptic Gregorian ordinal of 1970-01-01, day zero of epoch seconds."""


class Occurrence(NamedTuple):
    """One instant at which a wall-clock time happens."""

    epoch: int  # seconds since the Unix epoch
    fold: int  # 0: the first (or only) occurrence; 1: the repeated one
    offset: int  # the UTC offset in seconds in force at that instant


def naive_epoch(n: dt.datetime) -> int:
    """Seconds from 1970-01-01 00:00 to the naive ``n``, as if it were UTC."""
    return (n.toordinal() - EPOCH_ORDINAL) * 86400 + n.hour * 3600 + n.minute * 60 + n.second


def to_epoch(instant: dt.datetime) -> int:
    """The aware ``instant`` as integer epoch seconds, rounded down."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()!r}: give it a timezone")
    seconds = instant.timestamp()
    whole = int(seconds)
    return whole - 1 if whole > seconds else whole


def instant(epoch: int) -> dt.datetime:
    """Aware UTC datetime for epoch seconds."""
    return dt.datetime.fromtimestamp(epoch, UTC)


def _offset_at(zone: ZoneInfo, epoch: int) -> int:
    off = dt.datetime.fromtimestamp(epoch, zone).utcoffset()
    assert off is not None
    return int(off.total_seconds())


def occurrences(zone: ZoneInfo, n: dt.datetime, *, both: bool) -> list[Occurrence]:
    """The instants at which the naive wall-clock time ``n`` happens in ``zone``.

    Returns one occurrence, or two for a repeated time when ``both`` is true. A time in a
    gap resolves to the transition instant (the first valid instant after it).
    """
    o0 = n.replace(tzinfo=zone, fold=0).utcoffset()
    o1 = n.replace(tzinfo=zone, fold=1).utcoffset()
    assert o0 is not None and o1 is not None
    base = naive_epoch(n)
    s0 = int(o0.total_seconds())
    if o0 == o1:
        return [Occurrence(base - s0, 0, s0)]
    s1 = int(o1.total_seconds())
    e0 = base - s0
    e1 = base - s1
    if e0 < e1:  # the clock went back: n happens at e0 and again at e1
        first = Occurrence(e0, 0, s0)
        return [first, Occurrence(e1, 1, s1)] if both else [first]
    # The clock jumped over n: find the transition, the first instant after e1 whose
    # offset is the new one (zoneinfo gives no public transition list).
    lo, hi = e1, e0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_at(zone, mid) == s1:
            hi = mid
        else:
            lo = mid
    return [Occurrence(hi, 0, s1)]


def repeat_span(zone: ZoneInfo, n: dt.datetime) -> dt.timedelta:
    """How far the clock went back where the naive ``n`` happens twice (zero elsewhere).

    The repeated stretch holding ``n`` starts no later than ``n`` minus this span, so an
    iteration over wall times that must see every time repeated after ``n``'s first
    occurrence starts there (two hours at Troll, seven at Vostok in 1994).
    """
    o0 = n.replace(tzinfo=zone, fold=0).utcoffset()
    o1 = n.replace(tzinfo=zone, fold=1).utcoffset()
    assert o0 is not None and o1 is not None
    return o0 - o1 if o0 > o1 else dt.timedelta(0)


def format_offset(seconds: int) -> str:
    """``-05:00``, ``+05:45``, ``+10:30``; seconds appear only when there are any."""
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{secs:02d}" if secs else text
