"""Partition status: what is materialized, failed, in progress, or missing.

``partition_status`` holds the outcome of the last finished run of each partition
(``materialized`` or ``failed``); ``in_progress`` is derived from the asset's active
runs, and ``missing`` is the absence of both. A canceled run changes nothing: the
partition keeps the status it had.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from lockgate.definitions import Definitions
from lockgate.runs.queue import AttemptResult
from lockgate.runs.sql import db_time, param

from .base import PartitionSet

__all__ = [
    "MATERIALIZED",
    "PartitionState",
    "STATUSES",
    "collapse",
    "load_states",
    "record_outcomes",
]

MATERIALIZED, FAILED, IN_PROGRESS, MISSING = "materialized", "failed", "in_progress", "missing"
STATUSES = (MATERIALIZED, FAILED, IN_PROGRESS, MISSING)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class PartitionState:
    key: str
    status: str
    run_id: int | None
    updated_at: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "status": self.status, "run_id": self.run_id,
                "updated_at": self.updated_at.isoformat().replace("+00:00", "Z")
                if self.updated_at else None}


def record_outcomes(conn: Connection, defs: Definitions,
                    applied: Sequence[tuple[AttemptResult, bool]], now: dt.datetime) -> None:
    """Write the status of every partition that a final run covered (a finish hook).

    Succeeded runs mark their partitions materialized, failed ones failed; canceled runs
    and runs of unpartitioned targets change nothing.
    """
    from . import partitions_for

    finals = {res.run_id: res.status for res, final in applied
              if final and res.status in ("succeeded", "failed")}
    if not finals:
        return
    values = []
    stamp = db_time(conn, now)
    for run_id, target, first, last in _runs(conn, list(finals)):
        asset = defs.assets.get(target)
        if asset is None or asset.partitions is None or first is None:
            continue
        keys = _covered(partitions_for(asset.partitions), first, last, now)
        status = MATERIALIZED if finals[run_id] == "succeeded" else FAILED
        values.extend((target, key, status, run_id, stamp) for key in keys)
    if values:
        upsert_states(conn, values)


def upsert_states(conn: Connection, values: Sequence[tuple[str, str, str, int, Any]]) -> None:
    """Write (asset, key, status, run_id, updated_at) rows, replacing what was there."""
    mark = param(conn)
    conn.exec_driver_sql(
        "INSERT INTO partition_status (asset, partition_key, status, run_id, updated_at) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}) "
        "ON CONFLICT (asset, partition_key) DO UPDATE SET status = excluded.status, "
        "run_id = excluded.run_id, updated_at = excluded.updated_at",
        list(values),
    )


def _runs(conn: Connection, run_ids: list[int]) -> list[tuple[int, str, str | None, str | None]]:
    out = []
    for start in range(0, len(run_ids), _CHUNK):
        chunk = run_ids[start:start + _CHUNK]
        out.extend(conn.exec_driver_sql(
            "SELECT id, target, partition_key, partition_end_key FROM runs "
            f"WHERE id IN ({', '.join(str(int(i)) for i in chunk)})").all())
    return out


def _covered(pset: PartitionSet, first: str, last: str | None, now: dt.datetime) -> list[str]:
    from .errors import PartitionKeyError

    if not last or last == first:
        return [first]
    try:
        return pset.keys_between(first, last, now)
    except PartitionKeyError:  # the definition changed under the run: record what we know
        return [first, last]


def load_states(conn: Connection, asset: str, pset: PartitionSet, keys: Sequence[str],
                now: dt.datetime) -> list[PartitionState]:
    """The state of each of ``keys`` (in the same order), in_progress from active runs."""
    from lockgate.store.tables import UTCDateTime

    mark = param(conn)
    # fetchall and one conversion per distinct time: a run's partitions share its finish
    # time, and 87,672 row-by-row fetches and conversions cost more than the rest.
    stored: dict[str, tuple[str, int | None, Any]] = {
        key: (status, run_id, updated)
        for key, status, run_id, updated in conn.exec_driver_sql(
            "SELECT partition_key, status, run_id, updated_at FROM partition_status "
            f"WHERE asset = {mark}", (asset,)).all()
    }
    running = _in_progress(conn, asset, pset, now)
    convert = UTCDateTime().process_result_value
    times: dict[Any, dt.datetime | None] = {}
    out = []
    for key in keys:
        if key in running:
            out.append(PartitionState(key, IN_PROGRESS, running[key], None))
        elif key in stored:
            status, run_id, updated = stored[key]
            if updated not in times:
                times[updated] = convert(updated, conn.dialect)
            out.append(PartitionState(key, status, run_id, times[updated]))
        else:
            out.append(PartitionState(key, MISSING, None, None))
    return out


def _in_progress(conn: Connection, asset: str, pset: PartitionSet, now: dt.datetime
                 ) -> dict[str, int]:
    mark = param(conn)
    out: dict[str, int] = {}
    for run_id, first, last in conn.exec_driver_sql(
        "SELECT id, partition_key, partition_end_key FROM runs "
        f"WHERE target = {mark} AND status IN ('starting', 'running') "
        "AND partition_key IS NOT NULL", (asset,)
    ):
        for key in _covered(pset, first, last, now):
            out[key] = run_id
    return out


def collapse(states: Iterable[PartitionState]) -> list[tuple[str, str, str, int]]:
    """Runs of consecutive keys with one status: (first, last, status, count)."""
    out: list[tuple[str, str, str, int]] = []
    for state in states:
        if out and out[-1][2] == state.status:
            first, _, status, n = out[-1]
            out[-1] = (first, state.key, status, n + 1)
        else:
            out.append((state.key, state.key, state.status, 1))
    return out
