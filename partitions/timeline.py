"""The generated, cached list of one time-window set's boundaries and keys.

Boundaries are produced lazily, oldest first, as far as a question needs (up to ``now``,
or to the set's ``end``) and kept: a daemon asking every minute extends the list by the
few new partitions only. Instants are integer epoch seconds; ``datetime`` objects are
made once per boundary, on demand, for the bulk window path.

Speed: hourly sets are generated a local day at a time. A day whose UTC offset is the
same at its midnight and the next is regular: its 24 boundaries are the midnight's
instant plus fixed steps, and its keys share the day's prefix, so no per-hour zone
lookup or ``strftime`` happens. Days with a transition, and every other cadence, go
boundary by boundary through :func:`lockgate.time.walltime.occurrences`.
"""

from __future__ import annotations

import datetime as dt
import heapq
import threading
from collections.abc import Iterable, Iterator
from itertools import repeat
from typing import NamedTuple
from zoneinfo import ZoneInfo

from lockgate.errors import InternalError
from lockgate.time.walltime import EPOCH_ORDINAL, occurrences

from .cadence import Cadence
from .keys import Anchor, KeyFormat

__all__ = ["Boundary", "KeyedBoundary", "Timeline", "keyed", "resolved", "walk"]

UTC = dt.UTC
_from_epoch = dt.datetime.fromtimestamp
_CHUNK = 256



class Boundary(NamedTuple):
    """One boundary of a time-window set: an instant and the wall-clock time it is."""

    epoch: int  # UTC epoch seconds
    nominal: dt.datetime  # the naive wall-clock time in the set's zone
    fold: int  # 1 on the second pass through a repeated wall-clock time, else 0
    offset: int  # the zone's UTC offset there, in seconds


class KeyedBoundary(NamedTuple):
    """A boundary and the key of the window it starts."""

    boundary: Boundary
    key: str


class _Chunk(NamedTuple):
    """Generated boundaries, in order, and their keys."""

    epochs: list[int]
    keys: list[str]
    strict: bool  # strictly increasing epochs: the chunk joins the list as a whole


def resolved(zone: ZoneInfo, nominals: Iterable[dt.datetime], *, both: bool) -> Iterator[Boundary]:
    """Every occurrence of the ``nominals`` (ascending wall-clock times), in time order.

    Nominal order is not always time order: where the clock goes back by more than one
    step (2 hours in Antarctica/Troll), the second 01:00 comes after the first 02:00.
    Occurrences wait in a heap until no later nominal can come before them: the first
    occurrence of each nominal is never earlier than that of the one before.
    """
    heap: list[tuple[int, int, Boundary]] = []
    seq = 0
    for n in nominals:
        occs = occurrences(zone, n, both=both)
        floor = occs[0].epoch
        while heap and heap[0][0] < floor:
            yield heapq.heappop(heap)[2]
        for occ in occs:
            heapq.heappush(heap, (occ.epoch, seq, Boundary(occ.epoch, n, occ.fold, occ.offset)))
            seq += 1
    while heap:
        yield heapq.heappop(heap)[2]


def walk(zone: ZoneInfo, cadence: Cadence, n: dt.datetime) -> Iterator[Boundary]:
    """Finalized boundaries from the nominal ``n`` on (until the cadence ends).

    A nominal time in a DST gap resolves to the transition instant; when a later
    nominal lands on the same instant (02:00 and 03:00 on a New York spring night),
    only the later one is a boundary, so no window is empty.
    """
    pending: Boundary | None = None
    for item in resolved(zone, cadence.iter_from(n), both=cadence.elapsed):
        if pending is not None:
            if item.epoch == pending.epoch:
                pending = item
                continue
            yield pending
        pending = item
    if pending is not None:
        yield pending


def keyed(
    zone: ZoneInfo, cadence: Cadence, fmt: KeyFormat, n: dt.datetime
) -> Iterator[KeyedBoundary]:
    """:func:`walk` with each boundary's key. Start ``n`` before any repeated stretch
    that matters (a repeat's key names the last first occurrence before it)."""
    anchor: Anchor | None = None
    for b in walk(zone, cadence, n):
        if b.fold:
            yield KeyedBoundary(b, fmt.format_repeat(b.nominal, b.offset, anchor))
        else:
            key = fmt.format(b.nominal)
            anchor = Anchor(b.nominal, key)
            yield KeyedBoundary(b, key)


class Timeline:
    """Boundaries ``starts`` and ``keys`` of one set; window ``i`` is ``[starts[i], starts[i+1])``.

    Thread-safe: every extension happens under ``lock``; readers take a count under the
    lock and then read positions below it, which never change.
    """

    def __init__(
        self,
        *,
        zone: ZoneInfo,
        cadence: Cadence,
        key_format: KeyFormat,
        first: dt.datetime,
        end_epoch: int | None,
    ) -> None:
        self.zone = zone
        self.cadence = cadence
        self.key_format = key_format
        self.first = first
        self.end_epoch = end_epoch
        self.starts: list[int] = []
        self.keys: list[str] = []
        self.complete = False
        self.lock = threading.RLock()
        self._pending: tuple[int, str] | None = None
        self._anchor: Anchor | None = None  # the last first occurrence keyed so far
        self._chunks = self._generate()
        self._index: dict[str, int] = {}
        self._instants: list[dt.datetime] = []

    @property
    def windows(self) -> int:
        """How many windows are generated (a boundary and the one after it)."""
        return max(len(self.starts) - 1, 0)

    # -- extension -------------------------------------------------------------------

    def ensure_instant(self, epoch: int) -> None:
        """Generate until a boundary lies after ``epoch`` (or the set ends)."""
        with self.lock:
            while not self.complete and (not self.starts or self.starts[-1] <= epoch):
                self._pull()

    def ensure_windows(self, count: int) -> None:
        """Generate until ``count`` windows exist (or the set ends)."""
        with self.lock:
            while not self.complete and len(self.starts) <= count:
                self._pull()

    def index_ready(self) -> bool:
        """True when :meth:`index` is built for every generated window (a dict lookup)."""
        return len(self._index) == self.windows

    def index(self) -> dict[str, int]:
        """Key -> position for every generated window (extended in place, then shared)."""
        with self.lock:
            have = len(self._index)
            n = self.windows
            if have < n:
                self._index.update(zip(self.keys[have:n], range(have, n), strict=True))
            return self._index

    def instants(self) -> list[dt.datetime]:
        """Aware UTC datetimes of every generated boundary (extended in place)."""
        with self.lock:
            have = len(self._instants)
            n = len(self.starts)
            if have < n:
                self._instants.extend(map(_from_epoch, self.starts[have:n], repeat(UTC)))
            return self._instants

    # -- generation --------------------------------------------------------------------

    def _pull(self) -> None:
        try:
            epochs, keys, strict = next(self._chunks)
        except StopIteration:
            self._finish()
            return
        end = self.end_epoch
        if strict and len(epochs) > 1 and (end is None or epochs[-1] <= end):
            self._push(epochs[0], keys[0])  # joins the previous chunk (may drop its tail)
            self._pending = None
            self.starts += epochs
            self.keys += keys
            self._pending = (self.starts.pop(), self.keys.pop())
            return
        for e, k in zip(epochs, keys, strict=True):
            if not self._push(e, k):
                return

    def _push(self, epoch: int, key: str) -> bool:
        if self.end_epoch is not None and epoch > self.end_epoch:
            self._finish()
            return False
        p = self._pending
        if p is not None:
            if epoch == p[0]:  # a DST gap collapsed two nominal times: keep the later
                self._pending = (epoch, key)
                return True
            if epoch < p[0]:
                raise InternalError(f"partition boundaries out of order at {key!r}")
            self.starts.append(p[0])
            self.keys.append(p[1])
        self._pending = (epoch, key)
        return True

    def _finish(self) -> None:
        p = self._pending
        if p is not None and (self.end_epoch is None or p[0] <= self.end_epoch):
            self.starts.append(p[0])
            self.keys.append(p[1])
        self._pending = None
        self.complete = True

    def _generate(self) -> Iterator[_Chunk]:
        if self.cadence.seconds_of_day() is not None:
            yield from self._by_day()
        else:
            yield from self._resolve(self.cadence.iter_from(self.first))

    def _resolve(self, nominals: Iterable[dt.datetime]) -> Iterator[_Chunk]:
        """Boundaries of ``nominals`` by full zone resolution, in chunks."""
        fmt = self.key_format
        epochs: list[int] = []
        keys: list[str] = []
        for epoch, nominal, fold, offset in resolved(
            self.zone, nominals, both=self.cadence.elapsed
        ):
            epochs.append(epoch)
            if fold:
                keys.append(fmt.format_repeat(nominal, offset, self._anchor))
            else:
                key = fmt.format(nominal)
                self._anchor = Anchor(nominal, key)
                keys.append(key)
            if len(epochs) >= _CHUNK:
                yield _Chunk(epochs, keys, strict=False)
                epochs, keys = [], []
        if epochs:
            yield _Chunk(epochs, keys, strict=False)

    def _by_day(self) -> Iterator[_Chunk]:
        """Hourly and cron sets: the same times of day on every day that has any.

        Regular days (same UTC offset at both midnights, neither midnight inside a
        transition) are pure arithmetic and are batched into large chunks; transition
        days, the day after one and a first day starting mid-day are resolved one by one.
        """
        cadence, first = self.cadence, self.first
        days = _TimesOfDay(cadence, self.zone, self.key_format)
        first_ordinal = first.toordinal()
        partial_first_day = first.time() > (dt.datetime.min + days.deltas[0]).time()
        midnight_offset = days.midnight_offset
        every_day = cadence.fires_every_day
        ordinal = first_ordinal
        next_off = midnight_offset(ordinal)
        next_ordinal = ordinal
        slow: list[dt.datetime] = []  # nominal times waiting for one-by-one resolution
        epochs: list[int] = []
        keys: list[str] = []
        while True:
            if not every_day:
                day = cadence.next_day(dt.date.fromordinal(ordinal))
                if day is None:
                    break
                ordinal = day.toordinal()
            off = next_off if next_ordinal == ordinal else midnight_offset(ordinal)
            next_ordinal = ordinal + 1
            next_off = midnight_offset(next_ordinal)
            if (
                off is None
                or off != next_off
                or slow
                or (ordinal == first_ordinal and partial_first_day)
            ):
                if epochs:
                    yield _Chunk(epochs, keys, strict=True)
                    epochs, keys = [], []
                slow.extend(t for t in days.nominals(ordinal) if t >= first)
                if off is not None and off == next_off and ordinal != first_ordinal:
                    # The regular day after a transition closes the batch: a repeated
                    # stretch may run past midnight (St. John's fell back at 00:01).
                    yield from self._resolve(slow)
                    slow = []
            else:
                self._anchor = days.add_regular_day(ordinal, off, epochs, keys)
                if len(epochs) >= 4 * _CHUNK:
                    yield _Chunk(epochs, keys, strict=True)
                    epochs, keys = [], []
            ordinal += 1
        if epochs:
            yield _Chunk(epochs, keys, strict=True)
        if slow:
            yield from self._resolve(slow)


class _TimesOfDay:
    """The times of day of an hourly or cron set, laid on one local day at a time."""

    def __init__(self, cadence: Cadence, zone: ZoneInfo, fmt: KeyFormat) -> None:
        seconds = cadence.seconds_of_day()
        assert seconds is not None
        self.seconds = seconds
        self.deltas = [dt.timedelta(seconds=s) for s in seconds]
        self.fmt = fmt
        # Default formats are "%Y-%m-%d" plus a time part: keep the time parts once.
        sample = dt.datetime(2000, 1, 1)
        self.tails = ([(sample + d).strftime(fmt.fmt)[10:] for d in self.deltas]
                      if fmt.is_default else [])
        self._utcoffset = zone.utcoffset

    def midnight_offset(self, o: int) -> int | None:
        """The UTC offset at midnight of day ``o``; None when a transition's gap or
        repeated stretch covers that midnight (then both days around it are slow)."""
        midnight = dt.datetime.fromordinal(o)
        off = self._utcoffset(midnight)
        if off is None or off != self._utcoffset(midnight.replace(fold=1)):
            return None
        return off // _SECOND

    def nominals(self, ordinal: int) -> Iterator[dt.datetime]:
        """The wall-clock times of day ``ordinal``, in order."""
        midnight = dt.datetime.fromordinal(ordinal)
        return (midnight + d for d in self.deltas)

    def add_regular_day(self, ordinal: int, off: int, epochs: list[int],
                        keys: list[str]) -> Anchor:
        """Append regular day ``ordinal``'s epochs (UTC offset ``off`` seconds all day) and
        keys; return its last (nominal, key) as the anchor for repeated keys."""
        base = (ordinal - EPOCH_ORDINAL) * 86400 - off
        epochs += [base + s for s in self.seconds]
        midnight = dt.datetime.fromordinal(ordinal)
        if self.tails:
            prefix = dt.date.fromordinal(ordinal).isoformat()
            keys += [prefix + t for t in self.tails]
        else:
            keys += [(midnight + d).strftime(self.fmt.fmt) for d in self.deltas]
        return Anchor(midnight + self.deltas[-1], keys[-1])


_DAY = dt.timedelta(days=1)
_SECOND = dt.timedelta(seconds=1)
