"""The generated, cached list of one time-window set's boundaries and keys.

Boundaries are produced lazily, oldest first, as far as a question needs (up to ``now``,
or to the set's ``end``) and kept: a daemon asking every minute extends the list by the
few new partitions only. Instants are integer epoch seconds; ``datetime`` objects are
made once per boundary, on demand, for the bulk window path.

Speed: hourly sets are generated a local day at a time. A day whose UTC offset is the
same at its midnight and the next is regular: its 24 boundaries are the midnight's
instant plus fixed steps, and its keys share the day's prefix, so no per-hour zone
lookup or ``strftime`` happens. Days with a transition, and every other cadence, go
boundary by boundary through :func:`walltime.occurrences`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from itertools import repeat
from zoneinfo import ZoneInfo

from lockgate.errors import InternalError

from .cadence import Cadence, Hourly
from .keys import KeyFormat
from .walltime import occurrences

__all__ = ["Boundary", "Timeline", "walk"]

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
UTC = dt.UTC
_from_epoch = dt.datetime.fromtimestamp
_CHUNK = 256

Boundary = tuple[int, dt.datetime, int, int]  # (epoch, nominal, fold, utc offset)
_Chunk = tuple[list[int], list[str], bool]  # (epochs, keys, strictly increasing)


def walk(zone: ZoneInfo, cadence: Cadence, n: dt.datetime) -> Iterator[Boundary]:
    """Finalized boundaries from the nominal ``n`` on, without end.

    A nominal time in a DST gap resolves to the transition instant; when a later
    nominal lands on the same instant (02:00 and 03:00 on a New York spring night),
    only the later one is a boundary, so no window is empty.
    """
    both = cadence.elapsed
    pending: Boundary | None = None
    while True:
        for occ in occurrences(zone, n, both=both):
            item = (occ.epoch, n, occ.fold, occ.offset)
            if pending is not None:
                if occ.epoch == pending[0]:
                    pending = item
                    continue
                if occ.epoch < pending[0]:
                    raise InternalError(f"partition boundaries out of order at {n}")
                yield pending
            pending = item
        try:
            n = cadence.next(n)
        except ValueError:  # a cron that never fires again
            if pending is not None:
                yield pending
            return


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
        if isinstance(self.cadence, Hourly):
            yield from self._hourly()
        else:
            yield from self._generic(self.first, until=None)

    def _generic(self, n: dt.datetime, until: dt.datetime | None) -> Iterator[_Chunk]:
        """Boundaries by full resolution, from nominal ``n`` up to (excluding) ``until``."""
        zone, cadence, fmt = self.zone, self.cadence, self.key_format
        both = cadence.elapsed
        epochs: list[int] = []
        keys: list[str] = []
        while until is None or n < until:
            for occ in occurrences(zone, n, both=both):
                epochs.append(occ.epoch)
                keys.append(fmt.format(n, occ.offset if occ.fold else None))
            if len(epochs) >= _CHUNK:
                yield epochs, keys, False
                epochs, keys = [], []
            try:
                n = cadence.next(n)
            except ValueError:  # a cron that never fires again
                break
        if epochs:
            yield epochs, keys, False

    def _hourly(self) -> Iterator[_Chunk]:
        cadence = self.cadence
        assert isinstance(cadence, Hourly)
        zone, fmt = self.zone, self.key_format
        minute = cadence.minute
        steps = [h * 3600 + minute * 60 for h in range(24)]
        default = fmt.is_default
        tails = [f"-{h:02d}:{minute:02d}" for h in range(24)]
        first = self.first
        day = first.date()
        if first != dt.datetime(day.year, day.month, day.day, 0, minute):
            # The first day starts mid-day: resolve its remaining hours one by one.
            yield from self._generic(first, until=dt.datetime.combine(day, dt.time()) + _DAY)
            day += _DAY
        ordinal = day.toordinal()

        def midnight_offset(o: int) -> int:
            off = dt.datetime.fromordinal(o).replace(tzinfo=zone).utcoffset()
            assert off is not None
            return int(off.total_seconds())

        off = midnight_offset(ordinal)
        while True:
            off_next = midnight_offset(ordinal + 1)
            if off == off_next:
                base = (ordinal - _EPOCH_ORDINAL) * 86400 - off
                epochs = [base + s for s in steps]
                date = dt.date.fromordinal(ordinal)
                if default:
                    prefix = date.isoformat()
                    keys = [prefix + t for t in tails]
                else:
                    start = dt.datetime(date.year, date.month, date.day, 0, minute)
                    keys = [(start + dt.timedelta(hours=h)).strftime(fmt.fmt) for h in range(24)]
                yield epochs, keys, True
            else:  # a transition day: 23, 24 or 25 hours, resolved one by one
                start = dt.datetime.fromordinal(ordinal).replace(minute=minute)
                yield from self._generic(start, until=dt.datetime.fromordinal(ordinal + 1))
            off = off_next
            ordinal += 1


_DAY = dt.timedelta(days=1)
