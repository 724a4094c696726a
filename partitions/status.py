"""Partition status: what is materialized, failed, in progress, or missing.

``partition_status`` holds the outcome of the last finished run of each partition
(``materialized`` or ``failed``; an unpartitioned asset has one implicit partition,
``UNPARTITIONED_KEY``); ``in_progress`` is derived from the asset's active
runs, and ``missing`` is the absence of both. A canceled run changes nothing: the
partition keeps the status it had.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lockgate.definitions import UNPARTITIONED_KEY, Definitions
from lockgate.runs.sql import db_time, parse_db_time
from lockgate.statuses import RunStatus
from lockgate.store import partition_states
from lockgate.time.iso import format_iso

from .base import PartitionSet

if TYPE_CHECKING:
    from lockgate.runs.queue import AttemptResult
    from lockgate.store.connection import Connection

__all__ = [
    "MATERIALIZED",
    "STATUSES",
    "UNPARTITIONED_KEY",
    "PartitionState",
    "StatusColumns",
    "collapse",
    "in_progress",
    "load_states",
    "load_status_columns",
    "record_outcomes",
]

MATERIALIZED, FAILED, IN_PROGRESS, MISSING = "materialized", "failed", "in_progress", "missing"
STATUSES = (MATERIALIZED, FAILED, IN_PROGRESS, MISSING)


@dataclass(frozen=True, slots=True)
class PartitionState:
    key: str
    status: str
    run_id: int | None
    updated_at: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "status": self.status, "run_id": self.run_id,
                "updated_at": format_iso(self.updated_at) if self.updated_at else None}


def record_outcomes(conn: Connection, defs: Definitions,
                    applied: Sequence[tuple[AttemptResult, bool]], now: dt.datetime) -> None:
    """Write the status of every partition that a final run covered (a finish hook).

    Succeeded runs mark their partitions materialized, failed ones failed; canceled runs
    and runs of jobs change nothing. An unpartitioned asset's run covers its one implicit
    partition, :data:`UNPARTITIONED_KEY`.
    """
    from . import partitions_for

    finals = {res.run_id: res.status for res, final in applied
              if final and res.status in (RunStatus.SUCCEEDED, RunStatus.FAILED)}
    if not finals:
        return
    values: list[tuple[str, str, str, int, Any]] = []
    stamp = db_time(conn, now)
    for run_id, target, first, last in partition_states.run_spans(conn, list(finals)):
        asset = defs.assets.get(target)
        if asset is None:
            continue
        if asset.partitions is None:
            keys = [UNPARTITIONED_KEY]
        elif first is None:
            continue
        else:
            keys = _covered(partitions_for(asset.partitions), first, last, now)
        status = MATERIALIZED if finals[run_id] == RunStatus.SUCCEEDED else FAILED
        values.extend((target, key, status, run_id, stamp) for key in keys)
    if values:
        upsert_states(conn, values)


def upsert_states(conn: Connection, values: Sequence[tuple[str, str, str, int, Any]]) -> None:
    """Write (asset, key, status, run_id, updated_at) rows, replacing what was there."""
    partition_states.upsert(conn, values)


def _covered(pset: PartitionSet, first: str, last: str | None, now: dt.datetime) -> list[str]:
    from .errors import PartitionKeyError

    if not last or last == first:
        return [first]
    try:
        return pset.keys_between(first, last, now)
    except PartitionKeyError:  # the definition changed under the run: record what we know
        return [first, last]


@dataclass(frozen=True, slots=True)
class StatusColumns:
    """The state of many partitions, column by column (one list each, no object per
    partition: 87,672 partitions are four lists)."""

    keys: Sequence[str]
    statuses: list[str]
    run_ids: list[int | None]
    updated: list[Any]  # as the driver returned them; see updated_at()

    def updated_at(self, i: int) -> dt.datetime | None:
        return parse_db_time(self.updated[i])

    def states(self) -> list[PartitionState]:
        return [PartitionState(k, s, r, parse_db_time(u)) for k, s, r, u in
                zip(self.keys, self.statuses, self.run_ids, self.updated, strict=True)]

    def to_json(self) -> list[dict[str, Any]]:
        times: dict[Any, str | None] = {}
        out = []
        for key, status, run_id, updated in zip(self.keys, self.statuses, self.run_ids,
                                                self.updated, strict=True):
            if updated not in times:  # a run's partitions share their time: convert once
                when = parse_db_time(updated)
                times[updated] = format_iso(when) if when else None
            out.append({"key": key, "status": status, "run_id": run_id,
                        "updated_at": times[updated]})
        return out


def load_status_columns(conn: Any, asset: str, pset: PartitionSet, keys: Sequence[str],
                        now: dt.datetime, *, details: bool = True) -> StatusColumns:
    """The state of each of ``keys`` (in order); in_progress comes from active runs.

    Without ``details`` only the statuses are read (``run_ids`` and ``updated`` stay
    empty): what a summary needs, at half the cost for 87,672 partitions.
    ``conn`` may be a SQLAlchemy connection or a :mod:`lockgate.store.driver`
    connection (only ``exec_driver_sql`` is used).
    """
    running = in_progress(conn, asset, pset, now)
    if not details:
        status_of = partition_states.stored_statuses(conn, asset)
        status_of.update(dict.fromkeys(running, IN_PROGRESS))
        get = status_of.get
        return StatusColumns(keys=keys, statuses=[get(k, MISSING) for k in keys],
                             run_ids=[], updated=[])
    stored = {key: (status, run_id, updated) for key, status, run_id, updated in
              partition_states.stored_rows(conn, asset)}
    missing: tuple[str, int | None, Any] = (MISSING, None, None)
    statuses: list[str] = []
    run_ids: list[int | None] = []
    updated: list[Any] = []
    run_id: int | None
    for key in keys:
        row = (IN_PROGRESS, running[key], None) if key in running else stored.get(key, missing)
        status, run_id, when = row
        statuses.append(status)
        run_ids.append(run_id)
        updated.append(when)
    return StatusColumns(keys=keys, statuses=statuses, run_ids=run_ids, updated=updated)


def load_states(conn: Any, asset: str, pset: PartitionSet, keys: Sequence[str],
                now: dt.datetime) -> list[PartitionState]:
    """The state of each of ``keys`` (in the same order), in_progress from active runs."""
    return load_status_columns(conn, asset, pset, keys, now).states()


def in_progress(conn: Any, asset: str, pset: PartitionSet, now: dt.datetime) -> dict[str, int]:
    """Every partition of ``asset`` inside a starting or running run, with that run's id.

    The one statement of the rule: a run holds each partition from its ``partition_key``
    through its ``partition_end_key``, so a chunked run holds its whole range.
    """
    out: dict[str, int] = {}
    for run_id, first, last in partition_states.active_partition_runs(conn, asset):
        for key in _covered(pset, first, last, now):
            out[key] = run_id
    return out


def collapse(states: Iterable[PartitionState] | StatusColumns,
             positions: Sequence[int] | None = None) -> list[tuple[str, str, str, int]]:
    """Runs of consecutive keys with one status: (first, last, status, count).

    With ``positions`` (each key's place in the whole partition set, for a filtered
    list) a gap in the positions also ends a run.
    """
    if isinstance(states, StatusColumns):
        keys, statuses = states.keys, states.statuses
    else:
        listed = list(states)
        keys, statuses = [s.key for s in listed], [s.status for s in listed]
    if positions is None:
        out = []
        i = 0
        for status, group in itertools.groupby(statuses):
            n = sum(1 for _ in group)
            out.append((keys[i], keys[i + n - 1], status, n))
            i += n
        return out
    runs: list[list[Any]] = []
    previous = None
    for key, status, pos in zip(keys, statuses, positions, strict=True):
        if runs and runs[-1][2] == status and previous is not None and pos == previous + 1:
            runs[-1][1] = key
            runs[-1][3] += 1
        else:
            runs.append([key, key, status, 1])
        previous = pos
    return [(a, b, c, d) for a, b, c, d in runs]
