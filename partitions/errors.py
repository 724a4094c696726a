"""Errors raised by partition sets and mappings; all belong to :mod:`lockgate.errors`.

::

    UserError
    ├── ConfigError                 a partitions definition is invalid (raised as is)
    │   └── PartitionMappingError   two assets' partitions cannot be mapped onto each other
    └── RequestError
        └── InvalidValueError
            ├── PartitionKeyError       a key does not parse, or is outside the set
            ├── PartitionRangeError     a range's first key is after its last
            └── NoTimeWindowError       a time-window question asked of static partitions

Each message names the offending value, what was expected and the valid range.
"""

from __future__ import annotations

from lockgate.errors import ConfigError, InvalidValueError

__all__ = [
    "NoTimeWindowError",
    "PartitionKeyError",
    "PartitionMappingError",
    "PartitionRangeError",
]


class PartitionKeyError(InvalidValueError):
    """A partition key that does not parse, does not exist (yet), or lies outside the set.

    Attributes: ``key`` (the offending key), ``reason`` (what is wrong), ``expected``
    (the key format, with an example), ``valid_range`` (e.g. ``2024-01-01 .. 2024-03-31
    (91 partitions)``).
    """

    def __init__(self, key: str, reason: str, *, expected: str, valid_range: str) -> None:
        self.key = key
        self.reason = reason
        self.expected = expected
        self.valid_range = valid_range
        super().__init__(
            f"partition key {key!r} {reason}; expected {expected}; valid keys: {valid_range}"
        )


class PartitionRangeError(InvalidValueError):
    """A range of partitions whose first key comes after its last."""

    def __init__(self, first: str, last: str) -> None:
        self.first = first
        self.last = last
        super().__init__(
            f"partition range {first!r} .. {last!r} is reversed: {first!r} comes after "
            f"{last!r}; swap them"
        )


class NoTimeWindowError(InvalidValueError):
    """Static partitions have keys but no time windows."""

    def __init__(self, what: str, keys_hint: str) -> None:
        self.what = what
        super().__init__(
            f"{what} needs time-window partitions, but these are static keys ({keys_hint}); "
            "use a cadence with a start to get time windows"
        )


class PartitionMappingError(ConfigError):
    """Two partition sets that no mapping connects (e.g. static keys onto time windows)."""
