"""Which downstream partitions a backfill plan may build: those whose upstream is covered.

A downstream partition is covered when every upstream partition it maps to, through
every dependency (in the plan or not), is materialized already (stored status) or will
be by the plan. The others are :class:`SkippedPartition` entries: ``upstream
incomplete``, with the missing upstream partitions counted per upstream asset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lockgate.definitions import UNPARTITIONED_KEY, Asset, Definitions

from .base import PartitionSet

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["UPSTREAM_INCOMPLETE", "Coverage", "SkippedPartition"]

UPSTREAM_INCOMPLETE = "upstream incomplete"


@dataclass(frozen=True, kw_only=True, slots=True)
class SkippedPartition:
    """A downstream partition left out of the plan, and why."""

    asset: str
    key: str | None  # None: an unpartitioned downstream asset
    missing: dict[str, int]  # per upstream asset, its partitions neither stored nor planned
    reason: str = UPSTREAM_INCOMPLETE

    def to_json(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "key": self.key,
            "reason": self.reason,
            "missing": sum(self.missing.values()),
            "missing_upstream": dict(self.missing),
        }


class Coverage:
    """Which upstream partitions are materialized (stored) or will be (planned)."""

    def __init__(
        self,
        conn: Connection | None,
        defs: Definitions,
        plan_keys: dict[str, list[str]],
        partition_set_of: Callable[[str], PartitionSet],
        now: dt.datetime,
    ) -> None:
        self._conn = conn
        self._defs = defs
        self._plan_keys = plan_keys
        self._partition_set_of = partition_set_of
        self._now = now
        self._whole: set[str] = set()  # unpartitioned assets with a run in the plan
        self._done: dict[str, set[str]] = {}

    def planned(self, asset: Asset) -> None:
        if asset.partitions is None:
            self._whole.add(asset.name)

    def complete(
        self, asset: Asset, candidates: list[str]
    ) -> tuple[list[str], list[SkippedPartition]]:
        """The candidates whose every upstream partition is covered, and the others."""
        from .mapping import upstream_keys

        partition_set_of = self._partition_set_of
        here = partition_set_of(asset.name) if asset.partitions is not None else None
        keys: list[str | None] = list(candidates) if here is not None else [None]
        kept: list[str] = []
        skipped: list[SkippedPartition] = []
        for key in keys:
            missing: dict[str, int] = {}
            for dep in asset.deps:
                up = self._defs.assets.get(dep.asset)
                if up is None:
                    continue
                if up.partitions is None:
                    if dep.asset in self._whole:
                        continue
                    needed = [UNPARTITIONED_KEY]
                else:
                    needed = upstream_keys(
                        here, key, partition_set_of(dep.asset), offset=dep.offset, now=self._now
                    )
                done = self._covered(dep.asset)
                absent = sum(1 for k in needed if k not in done)
                if absent:
                    missing[dep.asset] = missing.get(dep.asset, 0) + absent
            if missing:
                skipped.append(SkippedPartition(asset=asset.name, key=key, missing=missing))
            elif key is not None:
                kept.append(key)
        return kept, skipped

    def _covered(self, asset: str) -> set[str]:
        if asset not in self._done:
            from lockgate.store.partition_states import materialized_keys

            done = materialized_keys(self._conn, asset) if self._conn is not None else set()
            done.update(self._plan_keys.get(asset, ()))
            self._done[asset] = done
        return self._done[asset]
