"""Time-window partitions: ``[start, end)`` windows on the wall clock of an IANA zone.

Boundaries are local wall-clock times (``cadence`` plus offsets) from ``start``; a daily
partition is a local calendar day, 23 or 25 hours long on DST days, and an hourly set
has 23 or 25 partitions on those days. DST rules (see :mod:`lockgate.time.walltime`): a boundary
time skipped by spring-forward starts at the transition instant (and is dropped when
the next boundary lands on the same instant, so no window is empty); a repeated time
is one boundary for calendar cadences (its first occurrence) and two for hourly-like
ones, the second keyed with its UTC offset appended (``2024-11-03-01:00-05:00``).

Which partitions exist depends on ``now``: every window that ended at or before
``now``, plus ``end_offset`` more (or fewer, when negative), and never one that ends
after ``end``.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from itertools import repeat

from lockgate.definitions import PartitionsSpec
from lockgate.time.walltime import format_offset, instant, occurrences, repeat_span, to_epoch

from .base import Partition, PartitionSet, Window, resolve_now
from .errors import PartitionKeyError
from .spec import build_cadence, first_nominal, zone_of
from .timeline import KeyedBoundary, Timeline, keyed, walk

__all__ = ["TimeWindowPartitions"]

_tuple_new = tuple.__new__  # builds a Window without its Python-level __new__


class TimeWindowPartitions(PartitionSet):
    """A time-window partition set built from a :class:`PartitionsSpec` with a cadence.

    Raises:
        ConfigError: the spec is invalid (unknown cadence or zone, bad offsets, a
            format that does not round-trip), naming the ``partitions.*`` key.
    """

    def __init__(self, spec: PartitionsSpec) -> None:
        self.spec = spec
        self.zone = zone_of(spec)
        self.cadence = build_cadence(spec)
        self._first = first_nominal(spec, self.cadence)
        from .keys import key_format

        self.key_format = key_format(self.cadence, spec.format, first=self._first)
        self._end_epoch = (
            None if spec.end is None else occurrences(self.zone, spec.end, both=False)[0].epoch
        )
        self._tl = Timeline(
            zone=self.zone,
            cadence=self.cadence,
            key_format=self.key_format,
            first=self._first,
            end_epoch=self._end_epoch,
        )

    def __repr__(self) -> str:
        s = self.spec
        what = f"cron {s.cron!r}" if s.cron else s.cadence
        return f"TimeWindowPartitions({what}, start={s.start}, tz={s.timezone})"

    @property
    def is_time_window(self) -> bool:
        return True

    @property
    def format(self) -> str:
        """The strftime format of the keys."""
        return self.key_format.fmt

    @property
    def timezone(self) -> str:
        return self.spec.timezone

    # -- existence as of now -------------------------------------------------------------

    def _closed(self, now_epoch: int) -> int:
        """How many windows ended at or before ``now_epoch`` (ignoring end_offset)."""
        tl = self._tl
        tl.ensure_instant(now_epoch)
        with tl.lock:
            return max(bisect.bisect_right(tl.starts, now_epoch) - 1, 0)

    def _count(self, now: dt.datetime | None) -> int:
        total = self._closed(to_epoch(resolve_now(now))) + self.spec.end_offset
        if total <= 0:
            return 0
        tl = self._tl
        tl.ensure_windows(total)
        with tl.lock:
            return min(total, tl.windows)

    def count(self, now: dt.datetime | None = None) -> int:
        return self._count(now)

    def keys(self, now: dt.datetime | None = None) -> list[str]:
        return self._tl.keys[: self._count(now)]

    def key_at(self, index: int, now: dt.datetime | None = None) -> str:
        n = self._count(now)
        if not -n <= index < n:
            raise IndexError(f"no partition at position {index}: {n} exist")
        return self._tl.keys[index % n]

    def _slice(self, i: int, j: int, now: dt.datetime) -> list[str]:
        return self._tl.keys[i:j]

    def last_closed_key(self, now: dt.datetime | None = None) -> str | None:
        closed = self._closed(to_epoch(resolve_now(now)))
        return self._tl.keys[closed - 1] if closed else None

    def describe_range(self, now: dt.datetime | None = None) -> str:
        n = self._count(now)
        if n == 0:
            first = self._tl.keys[0] if self._tl.keys else self.key_format.format(self._first)
            return f"none yet (the first, {first}, has not ended)"
        keys = self._tl.keys
        return f"{keys[0]} .. {keys[n - 1]} ({n} partition{'s' if n != 1 else ''})"

    def parse_key(self, key: str, now: dt.datetime | None = None) -> Partition:
        now = resolve_now(now)
        n = self._count(now)
        i = self._tl.index().get(key)
        if i is not None and i < n:
            starts = self._tl.starts
            return Partition(
                key=key, index=i, window=Window(instant(starts[i]), instant(starts[i + 1]))
            )
        self._locate(key, now)  # raises with the precise reason when the key is malformed
        raise self._key_error(key, f"does not exist yet as of {now:%Y-%m-%d %H:%M} UTC", now)

    # -- windows -----------------------------------------------------------------------------

    def window(self, key: str) -> Window:
        tl = self._tl
        i = tl.index().get(key)
        if i is not None:
            starts = tl.starts
            return Window(instant(starts[i]), instant(starts[i + 1]))
        start, end = self._locate(key, None)
        return Window(instant(start), instant(end))

    def windows_for(self, keys: Sequence[str], now: dt.datetime | None = None) -> list[Window]:
        self._count(now)  # generates every partition existing as of now
        tl = self._tl
        keys = list(keys)
        if not keys:
            return []
        # The common case, a backfill's range: consecutive keys, one slice of the timeline.
        i = self._position(keys[0])
        if i is not None and tl.keys[i : i + len(keys)] == keys:
            inst = tl.instants()
            j = i + len(keys)
            pairs = zip(inst[i:j], inst[i + 1 : j + 1], strict=True)
            return list(map(_tuple_new, repeat(Window), pairs))
        index = tl.index()
        inst = tl.instants()
        have = len(index)
        out: list[Window] = []
        append = out.append
        for key in keys:
            i = index.get(key)
            if i is None or i >= have:
                append(self.window(key))
            else:
                append(_tuple_new(Window, (inst[i], inst[i + 1])))
        return out

    def epoch_spans(self, keys: Sequence[str], now: dt.datetime | None = None) -> list[list[int]]:
        """The windows of ``keys`` merged into disjoint ``[start, end]`` epoch-second spans.

        For bulk mappings: a consecutive range of keys is one span, found without
        building a window per key.

        Raises:
            PartitionKeyError: a key is not one of this set's.
        """
        self._count(now)
        tl = self._tl
        keys = list(keys)
        if not keys:
            return []
        i = self._position(keys[0])
        starts = tl.starts
        if i is not None and tl.keys[i : i + len(keys)] == keys:
            return [[starts[i], starts[i + len(keys)]]]
        index = tl.index()
        have = len(index)
        bounds: list[tuple[int, int]] = []
        for key in keys:
            i = index.get(key)
            bounds.append(
                self._locate(key, now) if i is None or i >= have else (starts[i], starts[i + 1])
            )
        bounds.sort()
        merged: list[list[int]] = []
        for s, e in bounds:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        return merged

    def _position(self, key: str) -> int | None:
        """The timeline position of ``key`` without building the whole key index."""
        tl = self._tl
        if tl.index_ready():
            return tl.index().get(key)
        try:
            start, _ = self._locate(key, None)
        except PartitionKeyError:
            return None
        with tl.lock:
            n = tl.windows
        i = bisect.bisect_left(tl.starts, start, 0, n)
        return i if i < n and tl.starts[i] == start else None

    def window_at_offset(self, key: str, offset: int) -> Window:
        """The window ``offset`` partitions after ``key``'s (before, when negative).

        Follows the definition, not existence: the result may lie before ``start`` or in
        the future (mappings use it to look at neighbouring windows).

        Raises:
            PartitionKeyError: ``key`` is not a partition of this set.
        """
        tl = self._tl
        i = tl.index().get(key)
        if i is not None and 0 <= i + offset < tl.windows:
            starts = tl.starts
            return Window(instant(starts[i + offset]), instant(starts[i + offset + 1]))
        start, end = self._locate(key, None)
        if offset == 0:
            return Window(instant(start), instant(end))
        local = dt.datetime.fromtimestamp(start, self.zone).replace(tzinfo=None)
        back = max(-offset, 0) + self.cadence.lookback + 1
        while True:
            nominal = self._walk_start(local, back, clamp=False)
            bounds: list[int] = []
            at: int | None = None
            for b in walk(self.zone, self.cadence, nominal):
                bounds.append(b.epoch)
                if b.epoch == start:
                    at = len(bounds) - 1
                if at is not None and len(bounds) >= at + offset + 2:
                    break
            if at is None or len(bounds) < at + offset + 2:
                raise self._key_error(key, f"has no partition {offset:+d} from it", None)
            if at + offset >= 0:
                return Window(instant(bounds[at + offset]), instant(bounds[at + offset + 1]))
            back *= 2  # DST gaps dropped nominal times: look further back

    def key_for(self, instant_: dt.datetime) -> str:
        e = to_epoch(instant_)
        tl = self._tl
        with tl.lock:
            starts, n = tl.starts, tl.windows
        if n and starts[0] <= e < starts[n]:
            return tl.keys[bisect.bisect_right(starts, e, 0, n + 1) - 1]
        tl.ensure_windows(1)
        if not tl.starts or e < tl.starts[0]:
            first = tl.keys[0] if tl.keys else self.key_format.format(self._first)
            raise self._key_error(
                f"{instant_.isoformat()}", f"is before the first partition {first}", None
            )
        local = dt.datetime.fromtimestamp(e, self.zone).replace(tzinfo=None)
        nominal = max(self._walk_start(local, self.cadence.lookback), self._first)
        prev: KeyedBoundary | None = None
        for item in keyed(self.zone, self.cadence, self.key_format, nominal):
            if item.boundary.epoch > e:
                break
            prev = item
        assert prev is not None
        end = item.boundary.epoch
        if self._end_epoch is not None and end > self._end_epoch:
            raise self._key_error(
                f"{instant_.isoformat()}", f"is after the end ({self.spec.end})", None
            )
        return prev.key

    def _walk_start(self, local: dt.datetime, steps: int, *, clamp: bool = True) -> dt.datetime:
        """A nominal time from which :func:`walk` yields every boundary at or after the
        instant the clock reads ``local``, with its key.

        ``steps`` boundaries back from ``floor(local)`` cover DST gaps that merge nominal
        times. Elapsed-time cadences also start before the repeated stretch holding
        ``local`` (or the start): its second pass comes after the first pass's last
        boundary, and its keys name that boundary. ``clamp``: stop stepping back at the
        set's first boundary.
        """
        cadence = self.cadence
        nominal = cadence.floor(local)
        for _ in range(steps):
            if clamp and nominal <= self._first:
                break
            nominal = cadence.prev(nominal)
        if cadence.elapsed:
            for probe in (local, nominal):
                span = repeat_span(self.zone, probe)
                if span:
                    nominal = min(nominal, cadence.floor(probe - span))
        return nominal

    def keys_overlapping(
        self, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None
    ) -> list[str]:
        n = self._count(now)
        s, e = to_epoch(start), to_epoch(end)
        if end > instant(e):  # a fractional end still overlaps the second it starts
            e += 1
        starts = self._tl.starts
        i = max(bisect.bisect_right(starts, s, 0, n + 1) - 1, 0)
        j = min(bisect.bisect_left(starts, e, 0, n + 1), n)
        return self._tl.keys[i:j] if i < j else []

    # -- key resolution ------------------------------------------------------------------

    def _locate(self, key: str, now: dt.datetime | None) -> tuple[int, int]:
        """``(start, end)`` epochs of ``key`` by the definition (no existence check).

        Walks the boundaries from before any repeated stretch the key's time is in, so a
        fresh set gives the window a generated one has.

        Raises:
            PartitionKeyError: with the reason the key is not one of this set's.
        """
        parsed = self.key_format.parse(key)
        if parsed is None:
            raise self._key_error(key, "does not parse", now)
        naive, suffix, anchor = parsed
        if suffix and not self.cadence.elapsed:  # only hourly-like sets repeat a boundary
            raise self._key_error(key, "does not parse", now)
        nominal = self.cadence.ceil(naive)
        own = key if anchor is None else key[len(anchor) + 1 :]
        if self.key_format.format(nominal) + (suffix or "") != own:
            raise self._key_error(key, f"is not the start of a {self.cadence.name} partition", now)
        if nominal < self._first:
            raise self._key_error(key, f"is before the start ({self.spec.start})", now)
        tz = self.spec.timezone
        fold = 1 if suffix else 0
        if fold and not repeat_span(self.zone, nominal):
            raise self._key_error(key, f"names no repeated local time in {tz}", now)
        first_epoch = occurrences(self.zone, nominal, both=False)[0].epoch
        boundaries = keyed(
            self.zone, self.cadence, self.key_format, max(self._walk_start(nominal, 0), self._first)
        )
        found: KeyedBoundary | None = None
        for item in boundaries:
            b = item.boundary
            if b.nominal == nominal and b.fold == fold:
                found = item
                break
            # First occurrences come in nominal order; a repeat within a day of the first.
            if ((not fold and not b.fold and b.nominal > nominal)
                    or b.epoch > first_epoch + 2 * 86400):
                break
        if found is None:
            if not fold:
                raise self._key_error(
                    key, f"does not exist: DST skips that local time in {tz}", now
                )
            raise self._key_error(key, f"names no repeated local time in {tz}", now)
        start, offset, canonical = found.boundary.epoch, found.boundary.offset, found.key
        if canonical != key:
            if suffix != format_offset(offset):
                raise self._key_error(key, f"names no repeated local time in {tz}", now)
            raise self._key_error(
                key, f"is not a key of this set; that partition is {canonical}", now
            )
        after = next(boundaries, None)
        if after is None:
            raise self._key_error(key, "is the last time the cron fires; it has no end", now)
        end = after[0][0]
        if self._end_epoch is not None and end > self._end_epoch:
            raise self._key_error(key, f"is after the end ({self.spec.end})", now)
        return start, end

    def _key_error(self, key: str, reason: str, now: dt.datetime | None) -> PartitionKeyError:
        if now is None:
            first = self.key_format.format(self._first)
            end = self.spec.end
            valid = f"{first} onwards" if end is None else f"{first} .. (ending by {end})"
        else:
            valid = self.describe_range(now)
        return PartitionKeyError(
            key, reason, expected=self.key_format.describe(), valid_range=valid
        )
