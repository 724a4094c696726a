"""The asset sensor: when upstream partitions materialize, request the downstream ones.

It reads partition status rows of its upstream ``assets`` that changed after its cursor
(a time high-water mark), maps their keys onto the target asset's partitions through the
partition mappings, and requests each downstream partition once (its run key is the
partition key). With ``wait_for: all`` a downstream partition is requested only when
every upstream partition it depends on is materialized. A downstream partition whose
last materialization started after the upstream changes it reads (a backfill's
downstream run that waited for them) is not requested again.

An unpartitioned asset has one implicit partition (``UNPARTITIONED_KEY``) whose status
its runs write like any other, so an unpartitioned upstream triggers the sensor too. An
unpartitioned target gets one run per batch of upstream materializations: its run key
is a digest of the partitions and the runs that materialized them, so a replayed tick
asks for the same run and a new materialization (a second run of the upstream) for a new
one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lockgate.definitions import Asset, Definitions, RunRequest, Sensor

from .base import SensorResult, UserCall, option

if TYPE_CHECKING:
    from lockgate.store import Store
    from lockgate.store.connection import Connection

# The partitions, runs and store modules (SQLAlchemy) are imported when a sensor is first
# evaluated, not when a config with an asset sensor loads.

__all__ = ["KIND", "AssetOptions", "asset_options", "evaluate_asset_sensor"]


@dataclass(frozen=True, kw_only=True)
class AssetOptions:
    """An asset sensor's options: its upstream ``assets`` and ``wait_for``."""

    assets: tuple[str, ...] = ()
    wait_for: Literal["any", "all"] = "any"

    @classmethod
    def load(cls, source: Any) -> AssetOptions:
        return cls(assets=tuple(option(source, "assets") or ()),
                   wait_for="all" if option(source, "wait_for") == "all" else "any")


def asset_options(sensor: Sensor) -> AssetOptions:
    """The sensor's options (built from a mapping for a sensor built in code)."""
    o = sensor.options
    return o if isinstance(o, AssetOptions) else AssetOptions.load(o)


class _AssetKind:
    name = "asset"
    event_driven = False

    def load_options(self, source: Any, base_dir: str) -> AssetOptions:
        return AssetOptions.load(source)

    def open(self, sensor: Sensor, defs: Definitions) -> _AssetEvaluator:
        return _AssetEvaluator(sensor, defs)

    def jitter(self, sensor: Sensor) -> dt.timedelta | None:
        return None

    def max_backoff(self, sensor: Sensor) -> dt.timedelta:
        return dt.timedelta(minutes=10)

    def check_cursor(self, sensor: Sensor, value: str, current: str | None) -> None:
        from .cursors import check_instant

        check_instant(sensor, value)

    def reset_cursor(self, current: str | None) -> str | None:
        return None


class _AssetEvaluator:
    def __init__(self, sensor: Sensor, defs: Definitions) -> None:
        self.sensor = sensor
        self.defs = defs

    def evaluate(self, cursor: str | None, now: dt.datetime, *, store: Store,
                 call: UserCall | None = None) -> SensorResult:
        with store.read() as conn:
            return evaluate_asset_sensor(conn, self.defs, self.sensor, cursor, now)

    def close(self) -> None:
        """Nothing to release: each evaluation opens and closes its own read."""


KIND = _AssetKind()

_WAITING = "waiting for more upstream partitions (wait_for: all)"
_CURRENT = "the target partitions were rebuilt after these upstream changes"


def evaluate_asset_sensor(conn: Connection, defs: Definitions, sensor: Sensor,
                          cursor: str | None, now: dt.datetime) -> SensorResult:
    from lockgate.partitions import downstream_keys, partitions_for

    target = defs.assets.get(sensor.target)
    options = asset_options(sensor)
    upstreams = list(options.assets)
    changes = _changes_since(conn, upstreams, cursor)
    new_cursor = changes.newest.isoformat() if changes.newest else cursor
    if not changes.keys:
        return SensorResult(skip_reason="no upstream partition materialized since the last "
                            "tick", cursor=new_cursor)
    wait_all = options.wait_for == "all"
    if target is None or target.partitions is None:
        return _unpartitioned_target(conn, defs, sensor, target, changes, wait_all, now,
                                     new_cursor)
    here = partitions_for(target.partitions)
    offsets = {dep.asset: dep.offset for dep in target.deps}
    wanted: set[str] = set()
    for upstream, keys in changes.keys.items():
        up = defs.assets[upstream].partitions
        if up is None:
            continue
        wanted.update(downstream_keys(partitions_for(up), keys, here,
                                      offset=offsets.get(upstream, 0), now=now))
    if wait_all:
        wanted = {k for k in wanted if _all_materialized(conn, defs, target, k, upstreams,
                                                         offsets, now)}
    if not wanted:
        return SensorResult(skip_reason=_WAITING, cursor=new_cursor)
    read: dict[str, list[dt.datetime | None]] = {}
    for key in wanted:
        for upstream, when_of in changes.times.items():
            if defs.assets[upstream].partitions is not None:
                read.setdefault(key, []).extend(
                    when_of[k] for k in _needed(defs, target, key, upstream, offsets, now)
                    if k in when_of)
    wanted = _stale(conn, target.name, read)
    if not wanted:
        return SensorResult(skip_reason=_CURRENT, cursor=new_cursor)
    order = {k: here.index_of(k, now) for k in wanted}
    requests = [RunRequest(target=sensor.target, run_key=key, partition_key=key,
                           trigger={"upstream_assets": upstreams})
                for key in sorted(wanted, key=order.__getitem__)]
    return SensorResult(requests=requests, cursor=new_cursor)


@dataclass(frozen=True, kw_only=True)
class _Changes:
    """The upstream partitions materialized after the cursor."""

    keys: dict[str, list[str]]  # upstream -> changed keys
    runs: dict[str, list[int | None]]  # upstream -> the run that materialized each key
    times: dict[str, dict[str, dt.datetime | None]]  # upstream -> key -> when it changed
    newest: dt.datetime | None  # the new high-water mark (the old one if nothing changed)


def _changes_since(conn: Connection, upstreams: list[str], cursor: str | None) -> _Changes:
    from lockgate.runs.sql import db_time, parse_db_time
    from lockgate.store.partition_states import materialized_since

    since = dt.datetime.fromisoformat(cursor) if cursor else None
    changes = _Changes(keys={}, runs={}, times={}, newest=since)
    newest = since
    for upstream in upstreams:
        rows = materialized_since(conn, upstream,
                                  db_time(conn, since) if since is not None else None)
        for key, updated, run_id in rows:
            changes.keys.setdefault(upstream, []).append(key)
            changes.runs.setdefault(upstream, []).append(run_id)
            when = parse_db_time(updated)
            changes.times.setdefault(upstream, {})[key] = when
            if when is not None and (newest is None or when > newest):
                newest = when
    return dataclasses.replace(changes, newest=newest)


def _unpartitioned_target(conn: Connection, defs: Definitions, sensor: Sensor,
                          target: Asset | None, changes: _Changes, wait_all: bool,
                          now: dt.datetime, new_cursor: str | None) -> SensorResult:
    """One run for the batch of upstream changes, keyed by a digest of what changed."""
    from lockgate.partitions.status import UNPARTITIONED_KEY

    upstreams = list(asset_options(sensor).assets)
    if wait_all and target is not None and not _whole_upstream_materialized(
            conn, defs, upstreams, now):
        return SensorResult(skip_reason=_WAITING, cursor=new_cursor)
    if target is not None and not _stale(conn, target.name, {UNPARTITIONED_KEY: [
            w for ts in changes.times.values() for w in ts.values()]}):
        return SensorResult(skip_reason=_CURRENT, cursor=new_cursor)
    facts = sorted((u, k, r or 0) for u, ks in changes.keys.items()
                   for k, r in zip(ks, changes.runs[u], strict=True))
    digest = hashlib.sha256(repr(facts).encode()).hexdigest()[:16]
    return SensorResult(requests=[RunRequest(
        target=sensor.target, run_key=f"upstream:{digest}",
        trigger={"upstream": {u: ks for u, ks in changes.keys.items()}})], cursor=new_cursor)


def _stale(conn: Connection, target: str, changes: dict[str, list[dt.datetime | None]]
           ) -> set[str]:
    """The target partitions not rebuilt since their upstream changes: those whose last
    materialization started before the newest change they read (or never happened).

    A downstream run that started after its upstream partitions materialized has read
    them already (a backfill's downstream run, say, which waited for them).
    """
    from lockgate.runs.sql import parse_db_time
    from lockgate.store.partition_states import materialization_starts

    started = materialization_starts(conn, target, list(changes))
    out = set()
    for key, whens in changes.items():
        began = parse_db_time(started.get(key))
        known = [w for w in whens if w is not None]
        if began is None or not known or max(known) >= began:
            out.add(key)
    return out


def _needed(defs: Definitions, target: Asset | None, key: str | None, upstream: str,
            offsets: dict[str, int], now: dt.datetime) -> list[str]:
    """The upstream partitions ``key`` of ``target`` (None: unpartitioned) reads."""
    from lockgate.partitions import partitions_for, upstream_keys
    from lockgate.partitions.status import UNPARTITIONED_KEY

    spec = defs.assets[upstream].partitions
    if spec is None:
        return [UNPARTITIONED_KEY]
    here = partitions_for(target.partitions) if target and target.partitions else None
    return upstream_keys(here, key, partitions_for(spec), offset=offsets.get(upstream, 0),
                         now=now)


def _all_materialized(conn: Connection, defs: Definitions, target: Asset, key: str,
                      upstreams: list[str], offsets: dict[str, int], now: dt.datetime) -> bool:
    from lockgate.store.partition_states import materialized_among

    for upstream in upstreams:
        needed = _needed(defs, target, key, upstream, offsets, now)
        if not needed or not set(needed) <= materialized_among(conn, upstream, needed):
            return False
    return True


def _whole_upstream_materialized(conn: Connection, defs: Definitions, upstreams: list[str],
                                 now: dt.datetime) -> bool:
    """An unpartitioned target reads every partition of each upstream."""
    from lockgate.store.partition_states import materialized_keys

    for upstream in upstreams:
        needed = _needed(defs, None, None, upstream, {}, now)
        if not needed or not set(needed) <= materialized_keys(conn, upstream):
            return False
    return True
