"""Static partitions: a fixed list of keys (``partitions: {keys: [eu, us, apac]}``).

Keys keep their declared order, which is the set's order; they exist at every ``now``
and have no time windows (the window methods raise :class:`NoTimeWindowError`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from lockgate.definitions import PartitionsSpec
from lockgate.errors import ConfigError

from .base import Partition, PartitionSet, Window
from .errors import NoTimeWindowError, PartitionKeyError

__all__ = ["StaticPartitions"]


class StaticPartitions(PartitionSet):
    """The keys of ``spec.keys``, in declared order.

    Raises:
        ConfigError: no keys, an empty key, or a duplicate, at ``partitions.keys``.
    """

    def __init__(self, spec: PartitionsSpec) -> None:
        keys = tuple(spec.keys or ())
        if not keys:
            raise ConfigError(
                "`keys` is empty",
                path="partitions.keys",
                value=list(keys),
                hint="list at least one partition key",
            )
        index: dict[str, int] = {}
        for i, key in enumerate(keys):
            if not isinstance(key, str) or not key:
                raise ConfigError(
                    f"partition key {key!r} is not a non-empty string",
                    path=f"partitions.keys[{i}]",
                    value=key,
                    hint="write each key as text, e.g. eu",
                )
            if key in index:
                raise ConfigError(
                    f"duplicate partition key {key!r}",
                    path=f"partitions.keys[{i}]",
                    value=key,
                    hint="list each key once",
                )
            index[key] = i
        self.spec = spec
        self._keys = keys
        self._index = index

    def __repr__(self) -> str:
        return f"StaticPartitions({list(self._keys)!r})"

    @property
    def is_time_window(self) -> bool:
        return False

    def keys(self, now: dt.datetime | None = None) -> list[str]:
        return list(self._keys)

    def count(self, now: dt.datetime | None = None) -> int:
        return len(self._keys)

    def key_at(self, index: int, now: dt.datetime | None = None) -> str:
        return self._keys[index]

    def _slice(self, i: int, j: int, now: dt.datetime) -> list[str]:
        return list(self._keys[i:j])

    def parse_key(self, key: str, now: dt.datetime | None = None) -> Partition:
        i = self._index.get(key)
        if i is None:
            raise PartitionKeyError(
                key,
                "is not one of the static keys",
                expected="one of the declared keys",
                valid_range=self.describe_range(),
            )
        return Partition(key=key, index=i, window=None)

    def has_key(self, key: str, now: dt.datetime | None = None) -> bool:
        return key in self._index

    def describe_range(self, now: dt.datetime | None = None) -> str:
        shown = ", ".join(self._keys[:10])
        more = f", ... ({len(self._keys)} keys)" if len(self._keys) > 10 else ""
        return shown + more

    def _no_window(self, what: str) -> NoTimeWindowError:
        return NoTimeWindowError(what, self.describe_range())

    def window(self, key: str) -> Window:
        raise self._no_window(f"the window of partition {key!r}")

    def windows_for(self, keys: Sequence[str], now: dt.datetime | None = None) -> list[Window]:
        raise self._no_window("partition windows")

    def key_for(self, instant: dt.datetime) -> str:
        raise self._no_window(f"the partition containing {instant.isoformat()}")

    def last_closed_key(self, now: dt.datetime | None = None) -> str | None:
        raise self._no_window("the last closed partition")

    def keys_overlapping(
        self, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None
    ) -> list[str]:
        raise self._no_window("partitions overlapping a time range")
