"""Partition keys: formatting nominal boundaries as strings, and parsing them back.

A key is the boundary's wall-clock time in the set's ``format`` (strftime), e.g.
``2024-03-10`` for a daily partition. The second occurrence of a repeated local time
(only hourly-like cadences have one) gets the UTC offset appended, so both hours of a
fall-back night have their own key: ``2024-11-03-01:00`` (EDT) then
``2024-11-03-01:00-05:00`` (EST). A longer key with the same prefix sorts right after the
shorter one.

Where the clock goes back over more than one boundary (two hours in Antarctica/Troll,
seven at Vostok in 1994, or half an hour under a cron firing every 15 minutes), the
second pass begins before the last boundary of the first pass has a key that sorts
after it. Those repeats are keyed after the *anchor*, the last first-pass key before
them, then ``#``, then the repeat's own key: on Troll's 2025-10-26 the hours read
``2025-10-26-01:00``, ``2025-10-26-02:00``, ``2025-10-26-02:00#2025-10-26-01:00+00:00``,
``2025-10-26-02:00+00:00``, ``2025-10-26-03:00``. ``#`` sorts before ``+`` and ``-``, so
keys in the default formats sort like time (``sorted(keys) == keys``), and every key
that already sorted keeps its form. (For user formats that do not sort lexically, the
partition index is the order.)
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from lockgate.errors import ConfigError
from lockgate.time.walltime import format_offset

from .cadence import Cadence

__all__ = ["REPEAT_MARK", "Anchor", "KeyFormat", "ParsedKey"]

_SUFFIX = re.compile(r"[+-]\d\d:\d\d(?::\d\d)?$")
#: Between a repeat's anchor and its own key; sorts before the offsets' ``+`` and ``-``.
REPEAT_MARK = "#"


class Anchor(NamedTuple):
    """A first occurrence that later repeats are keyed after."""

    nominal: dt.datetime
    key: str


class ParsedKey(NamedTuple):
    """A key read back by :meth:`KeyFormat.parse`."""

    naive: dt.datetime  # fields the format lacks at their minimum (a daily key: midnight)
    suffix: str | None  # the repeated occurrence's UTC offset, else None
    anchor: str | None  # the text before ``#`` in a repeat keyed after its anchor


class KeyFormat:
    """Formats and parses the keys of one time-window partition set."""

    __slots__ = ("example", "fmt", "is_default")

    def __init__(self, fmt: str, *, is_default: bool) -> None:
        self.fmt = fmt
        self.is_default = is_default
        self.example = dt.datetime(2024, 1, 31, 13, 0).strftime(fmt)

    def format(self, nominal: dt.datetime, repeat_offset: int | None = None) -> str:
        """The key of ``nominal``; ``repeat_offset`` marks the repeated occurrence."""
        key = nominal.strftime(self.fmt)
        return key if repeat_offset is None else key + format_offset(repeat_offset)

    def format_repeat(self, nominal: dt.datetime, offset: int, anchor: Anchor | None) -> str:
        """The key of the repeated occurrence of ``nominal`` at UTC ``offset`` seconds.

        ``anchor`` is the last first occurrence before it in time:
        when that is ``nominal``'s own, the key is ``nominal`` plus the offset; otherwise
        the anchor's key, ``#``, then that (see the module docstring).
        """
        key = nominal.strftime(self.fmt) + format_offset(offset)
        if anchor is None or anchor.nominal == nominal:
            return key
        return anchor.key + REPEAT_MARK + key

    def parse(self, key: str) -> ParsedKey | None:
        """The parts of ``key``, or None when it does not parse.

        ``suffix`` is the repeated-occurrence offset or None; ``anchor`` is the text before
        ``#`` in a repeat keyed after its anchor, else None. The naive datetime has the
        fields the format lacks at their minimum (a daily key parses to midnight);
        callers complete it with the cadence and check the whole key.
        """
        try:
            return ParsedKey(dt.datetime.strptime(key, self.fmt), None, None)
        except ValueError:
            pass
        parsed = self._parse_repeat(key)
        if parsed is not None:
            return ParsedKey(parsed[0], parsed[1], None)
        at = key.find(REPEAT_MARK)
        while at > 0:
            parsed = self._parse_repeat(key[at + 1 :])
            if parsed is not None:
                return ParsedKey(parsed[0], parsed[1], key[:at])
            at = key.find(REPEAT_MARK, at + 1)
        return None

    def _parse_repeat(self, text: str) -> tuple[dt.datetime, str] | None:
        match = _SUFFIX.search(text)
        if match is None or match.start() == 0:
            return None
        try:
            return dt.datetime.strptime(text[: match.start()], self.fmt), match.group()
        except ValueError:
            return None

    def describe(self) -> str:
        """``format %Y-%m-%d (e.g. 2024-01-31)`` for error messages."""
        return f"format {self.fmt} (e.g. {self.example})"


def key_format(cadence: Cadence, fmt: str | None, *, first: dt.datetime) -> KeyFormat:
    """The key format for ``cadence``: the user's ``fmt`` or the cadence's default.

    Checks a user format on the first boundaries from ``first``: each key must be
    distinct and parse back to its own boundary.

    Raises:
        ConfigError: at ``partitions.format``, naming the format and a failing key.
    """
    if fmt is None or fmt == cadence.default_format:
        return KeyFormat(cadence.default_format, is_default=True)
    try:
        first.strftime(fmt)
    except ValueError as exc:
        raise ConfigError(
            f"format {fmt!r} is not a strftime format: {exc}",
            path="partitions.format",
            value=fmt,
            hint=f"use strftime codes, e.g. {cadence.default_format!r}",
        ) from None
    out = KeyFormat(fmt, is_default=False)
    seen: dict[str, dt.datetime] = {}
    n = first
    for _ in range(60):
        key = out.format(n)
        if key in seen:
            raise ConfigError(
                f"format {fmt!r} gives the same key {key!r} to the {cadence.name} boundaries "
                f"{seen[key]:%Y-%m-%d %H:%M} and {n:%Y-%m-%d %H:%M}",
                path="partitions.format",
                value=fmt,
                hint=f"include every field the cadence changes, e.g. {cadence.default_format!r}",
            )
        seen[key] = n
        parsed = out.parse(key)
        if parsed is None or cadence.ceil(parsed.naive) != n:
            raise ConfigError(
                f"format {fmt!r} does not round-trip: key {key!r} does not parse back to "
                f"{n:%Y-%m-%d %H:%M}",
                path="partitions.format",
                value=fmt,
                hint=f"use fields strptime can read back, e.g. {cadence.default_format!r}",
            )
        n = cadence.next(n)
    return out
