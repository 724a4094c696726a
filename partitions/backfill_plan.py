"""Planning a backfill: which partitions, in which runs, after which upstream runs.

A plan is pure data computed from the definitions, the partition sets and the stored
partition status; ``--dry-run`` prints it, ``launch`` records it. Both ends of a range
are included. ``chunk`` groups up to N consecutive partitions (by position, never across
a gap left by a filter) into one run covering the range. With ``downstream``, every
asset that depends on the backfilled one (transitively) gets the partitions mapped from
the selection, and each of its runs waits for the runs of its upstream partitions.

A downstream partition is planned only when every upstream partition it maps to (through
every dependency, in the plan or not) is materialized already or will be by this plan;
the others are listed in ``BackfillPlan.skipped`` as ``upstream incomplete`` with the
missing upstream partitions counted, and nothing that depends on them is planned either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lockgate.definitions import Asset, Definitions
from lockgate.errors import InvalidValueError, NotFoundError, did_you_mean

from .backfill_coverage import Coverage, SkippedPartition
from .base import PartitionSet

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["AssetRuns", "BackfillPlan", "PlannedRun", "Selection", "SkippedPartition",
           "plan_backfill"]



@dataclass(frozen=True, kw_only=True)
class Selection:
    """What the user asked for (exactly one of range, keys, all)."""

    from_key: str | None = None
    to_key: str | None = None
    keys: tuple[str, ...] | None = None
    all: bool = False
    missing_only: bool = False
    failed_only: bool = False
    chunk: int = 1
    downstream: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"from": self.from_key, "to": self.to_key,
                "keys": list(self.keys) if self.keys is not None else None, "all": self.all,
                "missing_only": self.missing_only, "failed_only": self.failed_only,
                "chunk": self.chunk, "downstream": self.downstream}


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannedRun:
    asset: str
    first_key: str | None  # None: an unpartitioned downstream asset
    last_key: str | None
    count: int
    upstream: tuple[int, ...] = ()  # positions in BackfillPlan.runs

    @property
    def run_key(self) -> str:
        if self.first_key is None:
            return self.asset
        return self.first_key if self.count == 1 else f"{self.first_key}..{self.last_key}"


@dataclass(frozen=True, kw_only=True)
class AssetRuns:
    """The runs of one asset in a plan, column by column (no object per run: a plan of
    87,672 hourly runs is three lists, and with ``chunk`` 1 the same list three times).
    """

    asset: str
    first: Sequence[str | None]  # each run's first partition (None: unpartitioned)
    last: Sequence[str | None]  # each run's last partition
    counts: Sequence[int] | None  # partitions per run; None: one each
    upstream: Sequence[tuple[int, ...]] | None  # plan positions each run waits for
    start: int  # the plan position of this asset's first run

    def __len__(self) -> int:
        return len(self.first)

    def count(self, i: int) -> int:
        if self.counts is not None:
            return self.counts[i]
        return 0 if self.first[i] is None else 1

    def run_keys(self) -> list[str]:
        """Each run's key: its partition, ``FIRST..LAST`` for a range, the asset name for
        an unpartitioned run."""
        if self.counts is None and self.first and self.first[0] is not None:
            return list(self.first)  # type: ignore[arg-type]  # partitioned: no None here
        return [self.run(i).run_key for i in range(len(self))]

    def run(self, i: int) -> PlannedRun:
        return PlannedRun(asset=self.asset, first_key=self.first[i], last_key=self.last[i],
                          count=self.count(i),
                          upstream=self.upstream[i] if self.upstream is not None else ())


class _RunsView(Sequence[PlannedRun]):
    """``plan.runs``: every run in plan order, made on demand from the groups."""

    def __init__(self, groups: Sequence[AssetRuns]) -> None:
        self._groups = groups

    def __len__(self) -> int:
        return sum(len(g) for g in self._groups)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to lists, so not hashable

    def __getitem__(self, index: Any) -> Any:  # int or slice, as list does
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        for group in self._groups:
            if group.start <= index < group.start + len(group):
                return group.run(index - group.start)
        raise IndexError(index)


@dataclass(frozen=True, kw_only=True)
class BackfillPlan:
    asset: str
    selection: Selection
    assets: tuple[str, ...]  # the asset, then downstream assets in dependency order
    keys: dict[str, list[str]]  # per asset, the partitions in the plan
    groups: tuple[AssetRuns, ...] = ()
    skipped: tuple[SkippedPartition, ...] = ()  # downstream partitions left out

    @property
    def runs(self) -> Sequence[PlannedRun]:
        return _RunsView(self.groups)

    @property
    def run_count(self) -> int:
        return sum(len(g) for g in self.groups)

    @property
    def partition_count(self) -> int:
        return sum(len(k) for k in self.keys.values())

    def summary(self) -> dict[str, Any]:
        runs = {g.asset: len(g) for g in self.groups}
        per_asset = []
        for name in self.assets:
            keys = self.keys[name]
            per_asset.append({"asset": name, "partitions": len(keys),
                              "first": keys[0] if keys else None,
                              "last": keys[-1] if keys else None, "runs": runs.get(name, 0)})
        return {"asset": self.asset, "partitions": self.partition_count,
                "runs": self.run_count, "assets": per_asset,
                "selection": self.selection.to_json(),
                "skipped": [item.to_json() for item in self.skipped]}


def plan_backfill(
    conn: Connection | None,
    defs: Definitions,
    asset_name: str,
    selection: Selection,
    *,
    partition_set_of: Callable[[str], PartitionSet],
    now: dt.datetime,
) -> BackfillPlan:
    """Plan a backfill of ``asset_name``.

    ``conn`` is needed for ``missing_only``/``failed_only`` (stored status); with
    ``downstream`` it tells which upstream partitions are materialized already (without
    it, none are).

    Raises:
        NotFoundError: unknown asset.
        InvalidValueError: an unpartitioned asset, keys outside the partition set
            (``PartitionKeyError``), a reversed range (``PartitionRangeError``), a bad
            chunk, conflicting options.
    """
    asset = _asset(defs, asset_name)
    _check_selection(selection, asset)
    plan_keys = {asset.name: _selected_keys(conn, asset, selection,
                                            partition_set_of(asset.name), now)}
    order = [asset.name]
    if selection.downstream:
        order += _downstream_order(defs, asset.name)
    coverage = Coverage(conn, defs, plan_keys, partition_set_of, now)
    groups, skipped = _asset_runs(defs, order, plan_keys, coverage, partition_set_of,
                                  selection.chunk, now)
    return BackfillPlan(asset=asset.name, selection=selection, assets=tuple(order),
                        keys=plan_keys, groups=tuple(groups), skipped=tuple(skipped))


def _selected_keys(conn: Connection | None, asset: Asset, selection: Selection,
                   pset: PartitionSet, now: dt.datetime) -> list[str]:
    """The backfilled asset's keys: all, listed or a range, then filtered by status."""
    if selection.all:
        keys = pset.keys(now)
    elif selection.keys is not None:
        keys = [pset.parse_key(k, now).key for k in selection.keys]
        keys = _ordered_unique(keys, pset, now)
    else:
        assert selection.from_key is not None and selection.to_key is not None
        keys = pset.keys_between(selection.from_key, selection.to_key, now)
    if selection.missing_only or selection.failed_only:
        if conn is None:
            raise InvalidValueError("--missing-only/--failed-only need the store")
        keys = _filter(conn, asset.name, pset, keys, failed=selection.failed_only, now=now)
    return keys


def _asset_runs(defs: Definitions, order: list[str], plan_keys: dict[str, list[str]],
                coverage: Coverage, partition_set_of: Callable[[str], PartitionSet],
                chunk: int, now: dt.datetime) -> tuple[list[AssetRuns], list[SkippedPartition]]:
    """The runs of each asset in ``order`` (the backfilled one first), chunked, each
    downstream run knowing the upstream runs it waits for; the partitions left out."""
    groups: list[AssetRuns] = []
    run_of_key: dict[str, dict[str, int]] = {}
    skipped: list[SkippedPartition] = []
    position = 0
    for name in order:
        a = defs.assets[name]
        if name != order[0]:
            candidates = _mapped_keys(defs, a, plan_keys, partition_set_of, now)
            plan_keys[name], left_out = coverage.complete(a, candidates)
            skipped += left_out
            if a.partitions is None and left_out:
                continue  # an unpartitioned asset whose upstream stays incomplete: no run
            coverage.planned(a)
        first, last, counts, members = _chunks(a, plan_keys[name], partition_set_of,
                                               chunk, now)
        upstream = None
        if name != order[0]:  # the backfilled asset's own upstreams are never in the plan
            upstream = [_upstream_runs(defs, a, m, plan_keys, run_of_key, partition_set_of,
                                       now) for m in members()]
        if name != order[-1]:  # only later assets look runs up by key
            run_of_key[name] = {key: position + i for i, group in enumerate(members())
                                for key in group}
        groups.append(AssetRuns(asset=name, first=first, last=last, counts=counts,
                                upstream=upstream, start=position))
        position += len(first)
    return groups, skipped


def _asset(defs: Definitions, name: str) -> Asset:
    if name not in defs.assets:
        hint = did_you_mean(name, defs.assets)
        raise NotFoundError(f"unknown asset {name!r}{hint}; assets: "
                            f"{', '.join(sorted(defs.assets)) or '(none defined)'}")
    return defs.assets[name]


def _check_selection(selection: Selection, asset: Asset) -> None:
    ways = [w for w, on in (("--from/--to", selection.from_key or selection.to_key),
                            ("--partitions", selection.keys is not None),
                            ("--all", selection.all)) if on]
    if len(ways) != 1:
        raise InvalidValueError(
            "give exactly one of --from KEY --to KEY, --partitions K1,K2 or --all"
            + (f" (got {' and '.join(ways)})" if ways else ""))
    if ways == ["--from/--to"] and not (selection.from_key and selection.to_key):
        raise InvalidValueError("give both --from and --to (both ends are included)")
    if selection.keys is not None and not selection.keys:
        raise InvalidValueError("--partitions is empty; list keys separated by commas")
    if selection.missing_only and selection.failed_only:
        raise InvalidValueError("give at most one of --missing-only and --failed-only")
    if selection.chunk < 1:
        raise InvalidValueError(f"--chunk {selection.chunk}: a run covers at least 1 "
                                "partition; use --chunk 1 or more")
    if asset.partitions is None:
        raise InvalidValueError(f"asset {asset.name!r} is not partitioned, so it has no "
                                f"partitions to backfill; run it with "
                                f"`lockgate trigger {asset.name}`")


def _ordered_unique(keys: list[str], pset: PartitionSet, now: dt.datetime) -> list[str]:
    index = {k: pset.index_of(k, now) for k in dict.fromkeys(keys)}
    return sorted(index, key=index.__getitem__)


def _filter(conn: Connection, asset: str, pset: PartitionSet, keys: list[str], *,
            failed: bool, now: dt.datetime) -> list[str]:
    from lockgate.store.partition_states import stored_statuses

    from .status import in_progress

    status = stored_statuses(conn, asset)
    if failed:
        return [k for k in keys if status.get(k) == "failed"]
    active = in_progress(conn, asset, pset, now)
    return [k for k in keys if k not in status and k not in active]


def _downstream_order(defs: Definitions, root: str) -> list[str]:
    """Assets depending on ``root`` (transitively), each after all its upstreams."""
    children: dict[str, list[str]] = {}
    for a in defs.assets.values():
        for dep in a.deps:
            children.setdefault(dep.asset, []).append(a.name)
    reach: set[str] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in reach:
                reach.add(child)
                stack.append(child)
    order: list[str] = []
    placed = {root}
    pending = sorted(reach)
    while pending:
        for name in pending:
            ups = [d.asset for d in defs.assets[name].deps if d.asset in reach | {root}]
            if all(u in placed for u in ups):
                order.append(name)
                placed.add(name)
                pending.remove(name)
                break
    return order


def _mapped_keys(defs: Definitions, asset: Asset, plan_keys: dict[str, list[str]],
                 partition_set_of: Callable[[str], PartitionSet], now: dt.datetime
                 ) -> list[str]:
    from .mapping import downstream_keys

    if asset.partitions is None:
        return []
    target = partition_set_of(asset.name)
    found: set[str] = set()
    for dep in asset.deps:
        if plan_keys.get(dep.asset):
            upstream_set = partition_set_of(dep.asset)
            found.update(downstream_keys(upstream_set, plan_keys[dep.asset], target,
                                         offset=dep.offset, now=now))
    if not found:
        return []
    return _ordered_unique(list(found), target, now)


def _chunks(asset: Asset, keys: list[str], partition_set_of: Callable[[str], PartitionSet],
            chunk: int, now: dt.datetime
            ) -> tuple[list[Any], list[Any], list[int] | None, Callable[[], list[list[str]]]]:
    """(first keys, last keys, counts or None, members()) of the asset's runs.

    ``members()`` lists each run's partitions; it is only called when a later asset needs
    it, so a plain backfill builds no per-run lists at all.
    """
    if asset.partitions is None:
        return [None], [None], [0], lambda: [[]]
    if chunk == 1:
        return keys, keys, None, lambda: [[k] for k in keys]
    pset = partition_set_of(asset.name)
    position = {k: i for i, k in enumerate(pset.keys(now))}
    groups: list[list[str]] = []
    group: list[str] = []
    for key in keys:
        if group and (len(group) == chunk or position[key] != position[group[-1]] + 1):
            groups.append(group)
            group = []
        group.append(key)
    if group:
        groups.append(group)
    return ([g[0] for g in groups], [g[-1] for g in groups], [len(g) for g in groups],
            lambda: groups)


def _upstream_runs(defs: Definitions, asset: Asset, members: list[str],
                   plan_keys: dict[str, list[str]], run_of_key: dict[str, dict[str, int]],
                   partition_set_of: Callable[[str], PartitionSet], now: dt.datetime
                   ) -> tuple[int, ...]:
    from .mapping import upstream_keys

    found: set[int] = set()
    for dep in asset.deps:
        runs_of_dep = run_of_key.get(dep.asset)
        if not runs_of_dep:
            continue
        if asset.partitions is None:  # unpartitioned: waits for every upstream run
            found.update(runs_of_dep.values())
            continue
        upstream_set = partition_set_of(dep.asset)
        here = partition_set_of(asset.name)
        for key in members:
            for up in upstream_keys(here, key, upstream_set, offset=dep.offset, now=now):
                if up in runs_of_dep:
                    found.add(runs_of_dep[up])
    return tuple(sorted(found))
