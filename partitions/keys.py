"""Partition keys: formatting nominal boundaries as strings, and parsing them back.

A key is the boundary's wall-clock time in the set's ``format`` (strftime), e.g.
``2024-03-10`` for a daily partition. The second occurrence of a repeated local time
(only hourly-like cadences have one) gets the UTC offset appended, so both hours of a
fall-back night have their own key: ``2024-11-03-01:00`` (EDT) then
``2024-11-03-01:00-05:00`` (EST). A longer key with the same prefix sorts right after the
shorter one, so keys in the default formats sort like time: ``sorted(keys) == keys``
whenever at most one boundary falls inside a repeated stretch of local time, which is
true of every default format for shifts of up to an hour. (Elsewhere, and for user
formats that do not sort lexically, the partition index is the order.)
"""

from __future__ import annotations

import datetime as dt
import re

from lockgate.errors import ConfigError

from .cadence import Cadence
from .walltime import format_offset

__all__ = ["KeyFormat"]

_SUFFIX = re.compile(r"[+-]\d\d:\d\d(?::\d\d)?$")


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

    def parse(self, key: str) -> tuple[dt.datetime, str | None] | None:
        """``(naive, suffix)`` where ``suffix`` is the repeated-occurrence offset or None.

        The naive datetime has the fields the format lacks at their minimum (a daily key
        parses to midnight); callers complete it with the cadence. None: no parse.
        """
        try:
            return dt.datetime.strptime(key, self.fmt), None
        except ValueError:
            pass
        match = _SUFFIX.search(key)
        if match is None or match.start() == 0:
            return None
        try:
            return dt.datetime.strptime(key[: match.start()], self.fmt), match.group()
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
        if parsed is None or cadence.ceil(parsed[0]) != n:
            raise ConfigError(
                f"format {fmt!r} does not round-trip: key {key!r} does not parse back to "
                f"{n:%Y-%m-%d %H:%M}",
                path="partitions.format",
                value=fmt,
                hint=f"use fields strptime can read back, e.g. {cadence.default_format!r}",
            )
        n = cadence.next(n)
    return out
