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

import datetime as dt
import hashlib

from sqlalchemy import Connection

from lockgate.definitions import Asset, Definitions, RunRequest, Sensor
from lockgate.partitions import downstream_keys, partitions_for, upstream_keys
from lockgate.partitions.status import UNPARTITIONED_KEY
from lockgate.runs.sql import db_time
from lockgate.store.partition_states import (
    materialization_starts,
    materialized_among,
    materialized_keys,
    materialized_since,
)
from lockgate.store.tables import UTCDateTime

from .base import SensorResult

__all__ = ["evaluate_asset_sensor"]

_WAITING = "waiting for more upstream partitions (wait_for: all)"
_CURRENT = "the target partitions were rebuilt after these upstream changes"


def evaluate_asset_sensor(conn: Connection, defs: Definitions, sensor: Sensor,
                          cursor: str | None, now: dt.datetime) -> SensorResult:
    target = defs.assets.get(sensor.target)
    upstreams = list(sensor.options.get("assets") or [])
    since = dt.datetime.fromisoformat(cursor) if cursor else None
    changed: dict[str, list[str]] = {}
    runs_of: dict[str, list[int | None]] = {}
    times: dict[str, dict[str, dt.datetime | None]] = {}  # when each changed key changed
    newest = since
    to_time = UTCDateTime().process_result_value
    for upstream in upstreams:
        rows = materialized_since(conn, upstream,
                                  db_time(conn, since) if since is not None else None)
        for key, updated, run_id in rows:
            changed.setdefault(upstream, []).append(key)
            runs_of.setdefault(upstream, []).append(run_id)
            when = to_time(updated, conn.dialect)
            times.setdefault(upstream, {})[key] = when
            if when is not None and (newest is None or when > newest):
                newest = when
    new_cursor = newest.isoformat() if newest else cursor
    if not changed:
        return SensorResult(skip_reason="no upstream partition materialized since the last "
                            "tick", cursor=new_cursor)
    wait_all = sensor.options.get("wait_for") == "all"
    if target is None or target.partitions is None:
        if wait_all and target is not None and not _whole_upstream_materialized(
                conn, defs, upstreams, now):
            return SensorResult(skip_reason=_WAITING, cursor=new_cursor)
        if target is not None and not _stale(conn, target.name, {UNPARTITIONED_KEY: [
                w for ts in times.values() for w in ts.values()]}):
            return SensorResult(skip_reason=_CURRENT, cursor=new_cursor)
        facts = sorted((u, k, r or 0) for u, ks in changed.items()
                       for k, r in zip(ks, runs_of[u], strict=True))
        digest = hashlib.sha256(repr(facts).encode()).hexdigest()[:16]
        return SensorResult(requests=[RunRequest(
            target=sensor.target, run_key=f"upstream:{digest}",
            trigger={"upstream": {u: ks for u, ks in changed.items()}})], cursor=new_cursor)
    here = partitions_for(target.partitions)
    offsets = {dep.asset: dep.offset for dep in target.deps}
    wanted: set[str] = set()
    for upstream, keys in changed.items():
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
    changes: dict[str, list[dt.datetime | None]] = {}
    for key in wanted:
        for upstream, when_of in times.items():
            if defs.assets[upstream].partitions is not None:
                changes.setdefault(key, []).extend(
                    when_of[k] for k in _needed(defs, target, key, upstream, offsets, now)
                    if k in when_of)
    wanted = _stale(conn, target.name, changes)
    if not wanted:
        return SensorResult(skip_reason=_CURRENT, cursor=new_cursor)
    order = {k: here.index_of(k, now) for k in wanted}
    requests = [RunRequest(target=sensor.target, run_key=key, partition_key=key,
                           trigger={"upstream_assets": upstreams})
                for key in sorted(wanted, key=order.__getitem__)]
    return SensorResult(requests=requests, cursor=new_cursor)


def _stale(conn: Connection, target: str, changes: dict[str, list[dt.datetime | None]]
           ) -> set[str]:
    """The target partitions not rebuilt since their upstream changes: those whose last
    materialization started before the newest change they read (or never happened).

    A downstream run that started after its upstream partitions materialized has read
    them already (a backfill's downstream run, say, which waited for them).
    """
    to_time = UTCDateTime().process_result_value
    started = materialization_starts(conn, target, list(changes))
    out = set()
    for key, whens in changes.items():
        began = to_time(started.get(key), conn.dialect)
        known = [w for w in whens if w is not None]
        if began is None or not known or max(known) >= began:
            out.add(key)
    return out


def _needed(defs: Definitions, target: Asset | None, key: str | None, upstream: str,
            offsets: dict[str, int], now: dt.datetime) -> list[str]:
    """The upstream partitions ``key`` of ``target`` (None: unpartitioned) reads."""
    spec = defs.assets[upstream].partitions
    if spec is None:
        return [UNPARTITIONED_KEY]
    here = partitions_for(target.partitions) if target and target.partitions else None
    return upstream_keys(here, key, partitions_for(spec), offset=offsets.get(upstream, 0),
                         now=now)


def _all_materialized(conn: Connection, defs: Definitions, target: Asset, key: str,
                      upstreams: list[str], offsets: dict[str, int], now: dt.datetime) -> bool:
    for upstream in upstreams:
        needed = _needed(defs, target, key, upstream, offsets, now)
        if not needed or not set(needed) <= materialized_among(conn, upstream, needed):
            return False
    return True


def _whole_upstream_materialized(conn: Connection, defs: Definitions, upstreams: list[str],
                                 now: dt.datetime) -> bool:
    """An unpartitioned target reads every partition of each upstream."""
    for upstream in upstreams:
        needed = _needed(defs, None, None, upstream, {}, now)
        if not needed or not set(needed) <= materialized_keys(conn, upstream):
            return False
    return True
