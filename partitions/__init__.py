"""Time-window and static partitions, mappings between assets, status and backfills.

Start from :func:`partitions_for`, which turns an asset's :class:`PartitionsSpec` into a
:class:`PartitionSet`::

    parts = partitions_for(asset.partitions)
    parts.keys(now)                     # every partition existing as of now, in order
    parts.window("2024-03-10")          # Window(start, end), aware UTC, [start, end)
    parts.key_for(instant)              # the partition containing an instant
    parts.keys_between(a, b, now)       # an inclusive, validated range
    parts.last_closed_key(now)          # what a schedule materializes

Mappings between two assets' sets: :func:`upstream_keys`, :func:`downstream_keys`.
"""

from __future__ import annotations

from functools import lru_cache

from lockgate.definitions import PartitionsSpec

from .base import Partition, PartitionSet, Window
from .errors import (
    NoTimeWindowError,
    PartitionKeyError,
    PartitionMappingError,
    PartitionRangeError,
)
from .mapping import downstream_keys, upstream_keys
from .static import StaticPartitions
from .time_window import TimeWindowPartitions

__all__ = [
    "NoTimeWindowError",
    "Partition",
    "PartitionKeyError",
    "PartitionMappingError",
    "PartitionRangeError",
    "PartitionSet",
    "StaticPartitions",
    "TimeWindowPartitions",
    "Window",
    "downstream_keys",
    "partitions_for",
    "upstream_keys",
]


@lru_cache(maxsize=256)
def partitions_for(spec: PartitionsSpec) -> PartitionSet:
    """The partition set a spec declares; one shared (cached) instance per spec.

    Sharing matters: a set caches the keys and windows it has generated, so every caller
    after the first gets them for free.

    Raises:
        ConfigError: the spec is invalid, naming the ``partitions.*`` key and the fix.
    """
    if spec.is_static:
        return StaticPartitions(spec)
    return TimeWindowPartitions(spec)
