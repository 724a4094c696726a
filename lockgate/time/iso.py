"""ISO 8601 text for instants: written with ``Z`` for UTC, local wall times read back.

Instants leave lockgate (JSON output, logs, the API) as ISO 8601 with ``Z`` instead of
``+00:00``; definitions give partition starts and ends as local wall-clock text whose
zone comes from the definition's ``timezone``.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["format_iso", "parse_local_datetime"]


def format_iso(value: dt.datetime, *, timespec: str = "auto") -> str:
    """``value`` in ISO 8601, a UTC offset written ``Z``: ``2024-03-10T07:00:00Z``.

    Other offsets stay as they are; ``timespec`` is that of :meth:`datetime.isoformat`.

    >>> format_iso(dt.datetime(2024, 3, 10, 7, tzinfo=dt.UTC))
    '2024-03-10T07:00:00Z'
    """
    return value.isoformat(timespec=timespec).replace("+00:00", "Z")


_LOCAL_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
)


_LOCAL_SHAPE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")
_OFFSET = re.compile(r"\d[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def parse_local_datetime(value: str | dt.date | dt.datetime) -> dt.datetime:
    """A wall-clock (naive) datetime from ``2024-01-01`` or ``2024-01-01T00:00[:00]``.

    YAML gives dates as ``date`` objects; both are accepted. An offset or zone in the
    text is refused: the zone comes from the definition's ``timezone``.

    Raises:
        ValueError: naming the value and the accepted forms.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ValueError(
                f"{value.isoformat()!r} carries an offset; write local time and set `timezone`"
            )
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    text = str(value).strip()
    for fmt in _LOCAL_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    shape = _LOCAL_SHAPE.fullmatch(text)
    if shape:
        # The right shape with an impossible field (month 13, hour 25): say which.
        try:
            year, month, day, hour, minute, second = (int(g or 0) for g in shape.groups())
            dt.datetime(year, month, day, hour, minute, second)
        except ValueError as exc:
            what = "date" if shape.group(4) is None else "date-time"
            raise ValueError(f"{value!r} is not a valid {what}: {exc}") from None
    if _OFFSET.search(text):
        raise ValueError(
            f"{value!r} carries a UTC offset or zone; write local time "
            "(2024-01-01T00:00) and set `timezone`"
        )
    raise ValueError(
        f"{value!r} is not a date or local date-time "
        "(write 2024-01-01 or 2024-01-01T00:00, without an offset)"
    )
