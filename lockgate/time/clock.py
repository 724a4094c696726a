"""The one place lockgate reads the clock, and its time helpers.

Everything else takes ``now`` as a parameter or calls :func:`now` here, so tests can
move time with :func:`use_clock` (or the :class:`FakeClock` double) and put it back
with :func:`reset_clock`. Inside lockgate time is UTC; zones appear only at the edges
(partition windows, cron schedules, what the CLI prints).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
import time as _time
from collections.abc import Callable
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC

__all__ = [
    "UTC",
    "FakeClock",
    "format_duration",
    "monotonic",
    "now",
    "parse_duration",
    "reset_clock",
    "sleep",
    "to_utc",
    "use_clock",
    "zone",
]


def _system_now() -> dt.datetime:
    return dt.datetime.now(UTC)


_source: Callable[[], dt.datetime] = _system_now


def now() -> dt.datetime:
    """The current instant, timezone-aware, in UTC."""
    return _source()


def monotonic() -> float:
    """Seconds from an arbitrary origin that never goes backwards (for timeouts)."""
    return _time.monotonic()


def sleep(seconds: float) -> None:
    """Sleep in real time (loops that wait on the wall clock use events instead)."""
    _time.sleep(seconds)


def use_clock(source: Callable[[], dt.datetime]) -> None:
    """Replace the clock, e.g. with a :class:`FakeClock`; undo with :func:`reset_clock`."""
    global _source
    _source = source


def reset_clock() -> None:
    """Put the system clock back."""
    global _source
    _source = _system_now


class FakeClock:
    """A clock that moves only when told, for tests and previews.

    >>> clock = FakeClock(dt.datetime(2024, 3, 10, 6, tzinfo=UTC))
    >>> clock.advance(dt.timedelta(hours=1)).hour
    7
    """

    def __init__(self, start: dt.datetime) -> None:
        self._now = to_utc(start)
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta | float) -> dt.datetime:
        if not isinstance(delta, dt.timedelta):
            delta = dt.timedelta(seconds=delta)
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: dt.datetime) -> None:
        with self._lock:
            self._now = to_utc(instant)


def to_utc(instant: dt.datetime) -> dt.datetime:
    """An aware datetime in UTC; a naive one is refused rather than guessed."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()!r}: give it a timezone")
    return instant.astimezone(UTC)


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``.

    Raises:
        ValueError: naming the zone and suggesting close matches.
    """
    try:
        if not name or name != name.strip():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        import zoneinfo

        from lockgate.errors import did_you_mean

        hint = did_you_mean(name, sorted(zoneinfo.available_timezones()), n=3)
        raise ValueError(
            f"unknown timezone {name!r}{hint} (use an IANA name like 'Europe/Berlin' or 'UTC')"
        ) from None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


MAX_DURATION_SECONDS = 36_500 * 86_400
"""100 years: longer durations would overflow date arithmetic (``now - window``)."""


def parse_duration(value: str | int | float | dt.timedelta) -> dt.timedelta:
    """``30s``, ``10m``, ``2h``, ``1d``, ``1h30m`` or a number of seconds, as a timedelta.

    Raises:
        ValueError: naming the value and the accepted forms.
    """
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (write e.g. 30s, 10m, 2h, 1d)")
    elif isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond any float
            seconds = math.inf
    elif isinstance(value, str):
        seconds = _parse_duration_text(value)
    else:
        raise ValueError(f"{value!r} is not a duration (write e.g. 30s, 10m, 2h, 1d)")
    if math.isnan(seconds):
        raise ValueError(f"{value!r} is not a duration (write e.g. 30s, 10m, 2h, 1d)")
    if seconds < 0:
        raise ValueError(f"{value!r} is negative; a duration must be zero or more")
    if seconds > MAX_DURATION_SECONDS:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ValueError(f"{shown} is too long: write a duration of at most "
                         f"{MAX_DURATION_SECONDS // 86400}d (100 years)")
    return dt.timedelta(seconds=seconds)


_WORDY = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_UNIT_WORDS = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d", "week": "w", "weeks": "w",
}


def _parse_duration_text(value: str) -> float:
    text = value.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)  # a bare number is seconds, as in YAML `timeout: 300`
    if text.startswith("-"):
        raise ValueError(f"{value!r} is negative; a duration must be zero or more")
    pos = 0
    seconds = 0.0
    for match in _DURATION.finditer(text):
        if text[pos : match.start()].strip():
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if text and pos > 0 and not text[pos:].strip():
        return seconds
    wordy = _WORDY.fullmatch(text)
    if wordy and wordy.group(2) in _UNIT_WORDS:
        suggestion = f"{wordy.group(1)}{_UNIT_WORDS[wordy.group(2)]}"
        raise ValueError(f"{value!r} is not a duration; write {suggestion!r}")
    raise ValueError(
        f"{value!r} is not a duration (write a number with a unit: 30s, 10m, 2h, 1d, 1h30m)"
    )


def format_duration(delta: dt.timedelta | float) -> str:
    """The inverse of :func:`parse_duration` for display: ``1h30m``, ``45s``, ``250ms``."""
    seconds = delta.total_seconds() if isinstance(delta, dt.timedelta) else float(delta)
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    out = []
    rest = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out) or "0s"
