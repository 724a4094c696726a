"""An independent oracle for partition boundaries, built on zoneinfo and UTC arithmetic.

It shares no code with lockgate: it finds a zone's transitions by sampling UTC offsets
and bisecting, then walks each stretch of constant offset, where the local clock reads
``t + offset``. A nominal boundary (a naive wall time) becomes:

- elapsed cadences (hourly): every instant at which the clock reads it, plus the
  instant of a forward jump for the times the jump skipped;
- calendar cadences (daily): the first instant at which the clock's highest reading so
  far reaches it (a repeated time counts once, a skipped one at the jump).

Boundaries at the same instant keep the latest nominal. A boundary is a repeat when its
nominal was reached before; repeats are keyed as lockgate documents: the nominal plus
the UTC offset, after ``anchor#`` when the last first occurrence before it is a later
wall time.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

UTC = dt.UTC
_SAMPLE = 6 * 3600


@dataclass(frozen=True)
class Boundary:
    epoch: int  # UTC seconds
    nominal: int  # naive wall time, seconds from 1970-01-01 00:00 as if UTC
    offset: int  # UTC offset in force at the instant
    repeat: bool


def offset_at(zone: zoneinfo.ZoneInfo, epoch: int) -> int:
    off = dt.datetime.fromtimestamp(epoch, UTC).astimezone(zone).utcoffset()
    assert off is not None
    return int(off.total_seconds())


def segments(zone: zoneinfo.ZoneInfo, start: int, end: int) -> list[tuple[int, int, int]]:
    """``(from, to, offset)`` stretches of constant UTC offset covering ``[start, end)``."""
    out: list[tuple[int, int, int]] = []
    seg_start, off = start, offset_at(zone, start)
    t = start
    while t < end:
        nxt = min(t + _SAMPLE, end)
        o = offset_at(zone, nxt)
        if o != off:
            lo, hi = t, nxt  # offset(lo) == off, offset(hi) != off
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset_at(zone, mid) == off:
                    lo = mid
                else:
                    hi = mid
            out.append((seg_start, hi, off))
            seg_start, off = hi, offset_at(zone, hi)
            # A second change before the next sample point is found from hi on.
            t = hi
            continue
        t = nxt
    out.append((seg_start, end, off))
    return out


def _grid(lo: int, hi: int, step: int, phase: int) -> range:
    """Values ``v`` with ``lo <= v < hi`` and ``v % step == phase``."""
    first = lo + (phase - lo) % step
    return range(first, hi, step)


def boundaries(
    zone_name: str,
    start: dt.datetime,
    end: dt.datetime,
    *,
    step: int,
    phase: int,
    elapsed: bool,
    jumps: bool = True,
) -> list[Boundary]:
    """Boundaries of the nominal grid ``phase + k * step`` (naive seconds) whose instants
    fall in ``[start, end)`` (aware). ``jumps=False``: a time skipped by a forward jump
    gives no boundary (an elapsed-time schedule does not fire for an hour that never
    was)."""
    zone = zoneinfo.ZoneInfo(zone_name)
    s, e = int(start.timestamp()), int(end.timestamp())
    found: dict[int, tuple[int, int]] = {}  # epoch -> (nominal, offset)

    def add(epoch: int, nominal: int, off: int) -> None:
        if s <= epoch < e and (epoch not in found or found[epoch][0] < nominal):
            found[epoch] = (nominal, off)

    segs = segments(zone, s - 2 * 86400, e + 86400)
    high = segs[0][0] + segs[0][2] - 1  # the highest reading so far
    prev_off: int | None = None
    for a, b, off in segs:
        if elapsed:
            if jumps and prev_off is not None and off > prev_off:  # skips [a+prev, a+off)
                skipped = _grid(a + prev_off, a + off, step, phase)
                if len(skipped):
                    add(a, skipped[-1], off)
            for n in _grid(a + off, b + off, step, phase):
                add(n - off, n, off)
        else:
            if a + off > high + 1:  # a jump over times never reached before
                skipped = _grid(high + 1, a + off, step, phase)
                if len(skipped):
                    add(a, skipped[-1], off)
            for n in _grid(max(a + off, high + 1), b + off, step, phase):
                add(n - off, n, off)
        high = max(high, b + off - 1)
        prev_off = off
    seen: set[int] = set()
    out: list[Boundary] = []
    for epoch in sorted(found):
        nominal, off = found[epoch]
        out.append(Boundary(epoch, nominal, off, nominal in seen))
        seen.add(nominal)
    return out


def keys(bounds: list[Boundary], fmt: str, first_keys: dict[int, str] | None = None) -> list[str]:
    """lockgate's documented keys for ``bounds`` (in time order)."""

    def plain(n: int) -> str:
        return (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=n)).strftime(fmt)

    def offset_text(seconds: int) -> str:
        sign = "-" if seconds < 0 else "+"
        h, rest = divmod(abs(seconds), 3600)
        m, sec = divmod(rest, 60)
        return f"{sign}{h:02d}:{m:02d}" + (f":{sec:02d}" if sec else "")

    out: list[str] = []
    anchor: tuple[int, str] | None = None
    for b in bounds:
        if not b.repeat:
            key = plain(b.nominal)
            anchor = (b.nominal, key)
        else:
            key = plain(b.nominal) + offset_text(b.offset)
            if anchor is not None and anchor[0] != b.nominal:
                key = anchor[1] + "#" + key
        out.append(key)
    return out
