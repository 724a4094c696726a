"""The asset sensor: when upstream partitions materialize, request the downstream ones.

It reads partition status rows of its upstream ``assets`` that changed after its cursor
(a time high-water mark), maps their keys onto the target asset's partitions through the
partition mappings, and requests each downstream partition once (its run key is the
partition key). With ``wait_for: all`` a downstream partition is requested only when
every upstream partition it depends on is materialized.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import Connection

from lockgate.definitions import Definitions, RunRequest, Sensor
from lockgate.partitions import downstream_keys, partitions_for, upstream_keys
from lockgate.runs.sql import db_time, param
from lockgate.store.tables import UTCDateTime

from .base import SensorResult

__all__ = ["evaluate_asset_sensor"]


def evaluate_asset_sensor(conn: Connection, defs: Definitions, sensor: Sensor,
                          cursor: str | None, now: dt.datetime) -> SensorResult:
    target = defs.assets.get(sensor.target)
    upstreams = list(sensor.options.get("assets") or [])
    since = dt.datetime.fromisoformat(cursor) if cursor else None
    m = param(conn)
    changed: dict[str, list[str]] = {}
    newest = since
    to_time = UTCDateTime().process_result_value
    for upstream in upstreams:
        query = (f"SELECT partition_key, updated_at, run_id FROM partition_status WHERE "
                 f"asset = {m} AND status = 'materialized'")
        args: list[Any] = [upstream]
        if since is not None:
            query += f" AND updated_at >= {m}"
            args.append(db_time(conn, since))
        rows = conn.exec_driver_sql(query, tuple(args)).all()
        keys = []
        for key, updated, _run_id in rows:
            keys.append(key)
            when = to_time(updated, conn.dialect)
            if when is not None and (newest is None or when > newest):
                newest = when
        if keys:
            changed[upstream] = keys
    new_cursor = newest.isoformat() if newest else cursor
    if not changed:
        return SensorResult(skip_reason="no upstream partition materialized since the last "
                            "tick", cursor=new_cursor)
    if target is None or target.partitions is None:
        facts = sorted((u, k) for u, ks in changed.items() for k in ks)
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
    if sensor.options.get("wait_for") == "all":
        wanted = {k for k in wanted if _all_materialized(conn, defs, target.name, k, upstreams,
                                                         offsets, now)}
    if not wanted:
        return SensorResult(skip_reason="waiting for more upstream partitions (wait_for: all)",
                            cursor=new_cursor)
    order = {k: here.index_of(k, now) for k in wanted}
    requests = [RunRequest(target=sensor.target, run_key=key, partition_key=key,
                           trigger={"upstream_assets": upstreams})
                for key in sorted(wanted, key=order.__getitem__)]
    return SensorResult(requests=requests, cursor=new_cursor)


def _all_materialized(conn: Connection, defs: Definitions, target: str, key: str,
                      upstreams: list[str], offsets: dict[str, int], now: dt.datetime) -> bool:
    here = partitions_for(defs.assets[target].partitions)
    m = param(conn)
    for upstream in upstreams:
        spec = defs.assets[upstream].partitions
        needed = upstream_keys(here, key, partitions_for(spec) if spec else None,
                               offset=offsets.get(upstream, 0), now=now)
        if not needed:
            return False
        done = {k for (k,) in conn.exec_driver_sql(
            f"SELECT partition_key FROM partition_status WHERE asset = {m} "
            f"AND status = 'materialized' AND partition_key IN "
            f"({', '.join([m] * len(needed))})", (upstream, *needed))}
        if not set(needed) <= done:
            return False
    return True
