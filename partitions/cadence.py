"""Cadences: where partition boundaries fall on the wall clock, before any zone is applied.

A cadence answers questions about *nominal* boundaries: naive local datetimes such as
"every day at 06:00" or "the 1st of each month at 00:00". Whether such a wall-clock time
exists, or exists twice, on a given day is the zone's business (``lockgate.time.walltime``); the
cadence only says ``elapsed``: whether it runs on elapsed time (hourly and crons firing
every hour), in which case a repeated local hour yields two boundaries, or on calendar
time (daily and coarser), in which case the first occurrence is the boundary.
"""

from __future__ import annotations

import calendar
import datetime as dt
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator

from lockgate.time.cron import CronExpression

__all__ = [
    "Cadence",
    "CronCadence",
    "Daily",
    "Hourly",
    "Monthly",
    "Weekly",
    "Yearly",
]

_HOUR = dt.timedelta(hours=1)
_DAY = dt.timedelta(days=1)
_WEEK = dt.timedelta(days=7)
_SECOND = dt.timedelta(seconds=1)


class Cadence(ABC):
    """Nominal (naive wall-clock) boundary arithmetic for one kind of partition."""

    name: str
    default_format: str
    elapsed: bool = False  # a repeated local time is two boundaries (hourly-like)
    #: how many nominal steps back from floor(x) can hold the boundary containing an
    #: instant whose local time is x, where a DST gap merges boundaries (a repeated
    #: stretch, however long, is reached through ``lockgate.time.walltime.repeat_span``).
    lookback: int = 1

    @abstractmethod
    def floor(self, x: dt.datetime) -> dt.datetime:
        """The latest nominal boundary at or before the naive datetime ``x``."""

    @abstractmethod
    def next(self, n: dt.datetime) -> dt.datetime:
        """The nominal boundary after the nominal boundary ``n``."""

    def prev(self, n: dt.datetime) -> dt.datetime:
        """The nominal boundary before the nominal boundary ``n``."""
        return self.floor(n - _SECOND)

    def ceil(self, x: dt.datetime) -> dt.datetime:
        """The earliest nominal boundary at or after ``x``."""
        f = self.floor(x)
        return f if f == x else self.next(f)

    def iter_from(self, n: dt.datetime) -> Iterator[dt.datetime]:
        """Nominal boundaries from the boundary ``n`` on, in order (ends if none is left)."""
        while True:
            yield n
            try:
                n = self.next(n)
            except ValueError:
                return

    def seconds_of_day(self) -> list[int] | None:
        """For cadences that fire at the same times on every day they fire: those times
        as seconds after midnight, sorted. None for calendar cadences (daily and up)."""
        return None

    def next_day(self, day: dt.date) -> dt.date | None:
        """The first day at or after ``day`` with boundaries (for ``seconds_of_day``)."""
        return day

    @property
    def fires_every_day(self) -> bool:
        """True when every day has the :meth:`seconds_of_day` (no day to skip)."""
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Hourly(Cadence):
    name = "hourly"
    default_format = "%Y-%m-%d-%H:%M"
    elapsed = True
    lookback = 3

    def __init__(self, minute: int = 0) -> None:
        self.minute = minute

    def floor(self, x: dt.datetime) -> dt.datetime:
        c = x.replace(minute=self.minute, second=0, microsecond=0)
        return c if c <= x else c - _HOUR

    def next(self, n: dt.datetime) -> dt.datetime:
        return n + _HOUR

    def seconds_of_day(self) -> list[int]:
        return [h * 3600 + self.minute * 60 for h in range(24)]


class Daily(Cadence):
    name = "daily"
    default_format = "%Y-%m-%d"

    def __init__(self, hour: int = 0, minute: int = 0) -> None:
        self.hour = hour
        self.minute = minute

    def floor(self, x: dt.datetime) -> dt.datetime:
        c = x.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        return c if c <= x else c - _DAY

    def next(self, n: dt.datetime) -> dt.datetime:
        return n + _DAY


class Weekly(Cadence):
    """Weeks starting on ``weekday`` (0 = Monday) at ``hour:minute``."""

    name = "weekly"
    default_format = "%Y-%m-%d"

    def __init__(self, weekday: int = 0, hour: int = 0, minute: int = 0) -> None:
        self.weekday = weekday
        self.hour = hour
        self.minute = minute

    def floor(self, x: dt.datetime) -> dt.datetime:
        back = (x.weekday() - self.weekday) % 7
        day = x.date() - dt.timedelta(days=back)
        c = dt.datetime(day.year, day.month, day.day, self.hour, self.minute)
        return c if c <= x else c - _WEEK

    def next(self, n: dt.datetime) -> dt.datetime:
        return n + _WEEK


def _month_day(year: int, month: int, day: int) -> int:
    """``day`` clamped to the month's length (the 31st is the 30th in April)."""
    return min(day, calendar.monthrange(year, month)[1])


class Monthly(Cadence):
    """Months starting on ``day`` (1-based, clamped to short months) at ``hour:minute``."""

    name = "monthly"
    default_format = "%Y-%m"

    def __init__(self, day: int = 1, hour: int = 0, minute: int = 0) -> None:
        self.day = day
        self.hour = hour
        self.minute = minute

    def _at(self, year: int, month: int) -> dt.datetime:
        return dt.datetime(year, month, _month_day(year, month, self.day), self.hour, self.minute)

    def floor(self, x: dt.datetime) -> dt.datetime:
        c = self._at(x.year, x.month)
        if c <= x:
            return c
        year, month = (x.year, x.month - 1) if x.month > 1 else (x.year - 1, 12)
        return self._at(year, month)

    def next(self, n: dt.datetime) -> dt.datetime:
        year, month = (n.year, n.month + 1) if n.month < 12 else (n.year + 1, 1)
        return self._at(year, month)


class Yearly(Cadence):
    """Years starting on January ``day`` at ``hour:minute``."""

    name = "yearly"
    default_format = "%Y"

    def __init__(self, day: int = 1, hour: int = 0, minute: int = 0) -> None:
        self.day = day
        self.hour = hour
        self.minute = minute

    def _at(self, year: int) -> dt.datetime:
        return dt.datetime(year, 1, self.day, self.hour, self.minute)

    def floor(self, x: dt.datetime) -> dt.datetime:
        c = self._at(x.year)
        return c if c <= x else self._at(x.year - 1)

    def next(self, n: dt.datetime) -> dt.datetime:
        return self._at(n.year + 1)


class CronCadence(Cadence):
    """Boundaries where a cron expression fires, on the wall clock of the set's zone.

    Iteration is by day: cron's time fields (second, minute, hour) do not depend on the
    date, so a day either has all of :meth:`seconds_of_day` or none; croniter is asked
    only which day fires next, not for every time (it costs ~40 microseconds a call).
    """

    name = "cron"

    def __init__(self, cron: CronExpression) -> None:
        from croniter import croniter

        self.cron = cron
        self.elapsed = cron.fires_at_most_hourly_apart()
        self.lookback = 3 if self.elapsed else 1
        self.default_format = "%Y-%m-%d-%H:%M:%S" if cron.has_seconds else "%Y-%m-%d-%H:%M"
        fields = cron.fields
        # croniter takes the seconds field last; lockgate's cron takes it first.
        text = " ".join([*fields[1:], fields[0]] if cron.has_seconds else fields)
        expanded = croniter.expand(text)[0]
        minutes = _values(expanded[0], 60)
        hours = _values(expanded[1], 24)
        seconds = _values(expanded[5], 60) if cron.has_seconds else [0]
        self._seconds = sorted(
            h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds
        )
        self._days = croniter(text, dt.datetime(2000, 1, 1), ret_type=dt.datetime)
        self._days_lock = threading.Lock()  # one croniter, shared by threads
        self._every_day = all(f == ["*"] for f in expanded[2:5])

    @property
    def fires_every_day(self) -> bool:
        return self._every_day

    def floor(self, x: dt.datetime) -> dt.datetime:
        x = x.replace(microsecond=0)
        found = next(self.cron.iter_before(x + _SECOND), None)
        if found is None:  # pragma: no cover - a valid cron always fired in the past
            raise ValueError(f"cron {self.cron.expression!r} never fires before {x}")
        return found

    def next(self, n: dt.datetime) -> dt.datetime:
        found = next(self.iter_from(n + _SECOND), None)
        if found is None:
            raise ValueError(f"cron {self.cron.expression!r} never fires after {n}")
        return found

    def seconds_of_day(self) -> list[int]:
        return self._seconds

    def next_day(self, day: dt.date) -> dt.date | None:
        from croniter import CroniterBadDateError

        start = dt.datetime(day.year, day.month, day.day) - _SECOND
        with self._days_lock:
            try:
                self._days.set_current(start, force=True)
                return self._days.get_next(dt.datetime).date()
            except (CroniterBadDateError, StopIteration):
                return None

    def iter_from(self, n: dt.datetime) -> Iterator[dt.datetime]:
        """Firing times at or after ``n``, in order (``n`` need not be one)."""
        day: dt.date | None = n.date()
        seconds = [dt.timedelta(seconds=s) for s in self._seconds]
        while day is not None:
            day = self.next_day(day)
            if day is None:
                return
            midnight = dt.datetime(day.year, day.month, day.day)
            for s in seconds:
                t = midnight + s
                if t >= n:
                    yield t
            day += _DAY

    def __repr__(self) -> str:
        return f"CronCadence({self.cron.expression!r})"


def _values(field: list[int | str], size: int) -> list[int]:
    """A croniter-expanded time field as the list of its values (``*`` is all)."""
    if field == ["*"]:
        return list(range(size))
    return sorted({int(v) for v in field})
