"""What every partition set answers, time-window or static, and the values it returns."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from lockgate.definitions import PartitionsSpec
from lockgate.time import clock

from .errors import PartitionRangeError

__all__ = ["Partition", "PartitionSet", "Window"]


class Window(NamedTuple):
    """A time window ``[start, end)`` as aware UTC datetimes.

    A named tuple rather than a dataclass: bulk paths build one per partition (87,672
    for ten years of hours) and a tuple is the cheapest immutable value to build.
    """

    start: dt.datetime
    end: dt.datetime

    @property
    def duration(self) -> dt.timedelta:
        return self.end - self.start

    def contains(self, instant: dt.datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True, kw_only=True, slots=True)
class Partition:
    """A validated key: its position in the set and, for time windows, its window."""

    key: str
    index: int
    window: Window | None


def resolve_now(now: dt.datetime | None) -> dt.datetime:
    return clock.now() if now is None else clock.to_utc(now)


class PartitionSet(ABC):
    """The partitions of one asset: an ordered list of string keys.

    Positions (``index_of``) are the order; for the default time formats the keys also
    sort lexically in that order. Methods taking ``now`` answer "as of ``now``" (default:
    :func:`lockgate.time.clock.now`): which partitions exist depends on time.
    """

    spec: PartitionsSpec

    @property
    @abstractmethod
    def is_time_window(self) -> bool:
        """True for time-window sets (windows, ``key_for``), False for static keys."""

    @abstractmethod
    def keys(self, now: dt.datetime | None = None) -> list[str]:
        """Every partition key that exists as of ``now``, in order (a fresh list)."""

    @abstractmethod
    def count(self, now: dt.datetime | None = None) -> int:
        """How many partitions exist as of ``now``."""

    @abstractmethod
    def key_at(self, index: int, now: dt.datetime | None = None) -> str:
        """The key at position ``index`` (negative counts from the end), as of ``now``.

        Raises:
            IndexError: no partition at that position.
        """

    @abstractmethod
    def parse_key(self, key: str, now: dt.datetime | None = None) -> Partition:
        """Validate ``key``: it parses and exists as of ``now``.

        Raises:
            PartitionKeyError: naming the key, the expected format and the valid range.
        """

    @abstractmethod
    def window(self, key: str) -> Window:
        """The window ``[start, end)`` of ``key`` (which need not exist yet).

        Raises:
            PartitionKeyError: the key does not parse or is outside start..end.
            NoTimeWindowError: static partitions.
        """

    @abstractmethod
    def windows_for(self, keys: Sequence[str], now: dt.datetime | None = None) -> list[Window]:
        """Windows of many keys at once (fast for keys that exist as of ``now``).

        Raises:
            PartitionKeyError: for the first key that does not parse or is out of range.
            NoTimeWindowError: static partitions.
        """

    @abstractmethod
    def key_for(self, instant: dt.datetime) -> str:
        """The key of the partition containing the aware ``instant``.

        Raises:
            PartitionKeyError: the instant is before the first partition or after the end.
            NoTimeWindowError: static partitions.
        """

    @abstractmethod
    def last_closed_key(self, now: dt.datetime | None = None) -> str | None:
        """The latest partition whose window ended at or before ``now``; None if none has.

        Ignores ``end_offset``: this is the partition a schedule materializes. Static
        sets raise NoTimeWindowError.
        """

    @abstractmethod
    def keys_overlapping(
        self, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None
    ) -> list[str]:
        """Existing keys whose windows overlap ``[start, end)``, in order."""

    @abstractmethod
    def describe_range(self, now: dt.datetime | None = None) -> str:
        """``2024-01-01 .. 2024-03-31 (91 partitions)`` for messages."""

    def index_of(self, key: str, now: dt.datetime | None = None) -> int:
        """The position of ``key`` among the partitions existing as of ``now``.

        Raises:
            PartitionKeyError: as :meth:`parse_key`.
        """
        return self.parse_key(key, now).index

    def has_key(self, key: str, now: dt.datetime | None = None) -> bool:
        """True when ``key`` is a partition that exists as of ``now``."""
        from .errors import PartitionKeyError

        try:
            self.parse_key(key, now)
        except PartitionKeyError:
            return False
        return True

    def keys_between(self, first: str, last: str, now: dt.datetime | None = None) -> list[str]:
        """The keys from ``first`` to ``last``, both included, in order.

        Raises:
            PartitionKeyError: either key does not exist as of ``now``.
            PartitionRangeError: ``first`` comes after ``last``.
        """
        now = resolve_now(now)
        i = self.parse_key(first, now).index
        j = self.parse_key(last, now).index
        if i > j:
            raise PartitionRangeError(first, last)
        return self._slice(i, j + 1, now)

    @abstractmethod
    def _slice(self, i: int, j: int, now: dt.datetime) -> list[str]:
        """Keys at positions ``[i, j)``, which exist as of ``now``."""
