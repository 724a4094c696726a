"""The ledger's bulk path: many keyed runs of one target (a backfill's 87,672 partitions).

Columns instead of :class:`~lockgate.definitions.RunRequest` objects; otherwise the
ledger's rules (:func:`lockgate.runs.ledger.request_runs`): one run per new (origin,
key), a spent key names its existing run, and a run's asset partitions are claimed
(:mod:`lockgate.runs.claims`): a run whose partitions are all held by an open run is
absorbed into it, one that keeps only some becomes one run per contiguous piece.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lockgate.definitions import Definitions
from lockgate.runs.claims import claim_runs, partitions_of
from lockgate.runs.sql import db_time
from lockgate.statuses import RunStatus
from lockgate.store import keys as store_keys
from lockgate.store.partition_claims import reassign_claims

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["KeyedRuns", "queue_keyed_runs"]


@dataclass(frozen=True, slots=True)
class KeyedRuns:
    """Per key, in order: the run the key names, the runs this call created for it (its
    pieces; empty when it was absorbed or already spent) and every run that carries its
    partitions (those pieces, then the open runs that absorbed the rest)."""

    ids: list[int]
    own: list[tuple[int, ...]]
    carriers: list[tuple[int, ...]]


def queue_keyed_runs(
    conn: Connection,
    *,
    defs: Definitions,
    origin: str,
    target: str,
    run_keys: Sequence[str],
    partition_keys: Sequence[str | None],
    partition_end_keys: Sequence[str | None] | None = None,
    partition_counts: Sequence[int] | None = None,
    priority: int = 0,
    backfill_id: int | None = None,
    now: dt.datetime,
) -> KeyedRuns:
    """Queue a run per new key of ``origin``; ``run_keys`` must be distinct."""
    if not run_keys:
        return KeyedRuns(ids=[], own=[], carriers=[])
    job = defs.target_job(target)
    ids = store_keys.reserve_ids(conn, len(run_keys))
    key_ids, created = _spend_keys(conn, origin, run_keys, ids, now)
    ends = partition_end_keys if partition_end_keys is not None else [None] * len(run_keys)
    if partition_counts is not None:
        counts: Sequence[int] = partition_counts
    else:
        counts = [0 if k is None else 1 for k in partition_keys]
    rows = [
        row
        for row in zip(ids, run_keys, partition_keys, ends, counts, strict=True)
        if row[1] in created
    ]
    own: dict[int, tuple[int, ...]] = {row[0]: (row[0],) for row in rows}
    carriers = dict(own)
    rows = _claim(conn, defs, target, rows, own, carriers, max(ids), now)
    for key in created:  # an absorbed key names the run that holds its first partition
        run_id = key_ids[key]
        if not own[run_id]:
            holder = carriers[run_id][0]
            store_keys.move_key(conn, origin, key, run_id, holder)
            key_ids[key] = holder
    if rows:
        # The columns that are the same for every run go into the statement as literals.
        constant = {
            "target": target, "job": job.name, "pool": job.concurrency_key,
            "origin": origin, "status": RunStatus.QUEUED, "attempt": 1,
            "priority": priority, "queued_at": db_time(conn, now),
            "cancel_requested": False, "backfill_id": backfill_id,
        }
        store_keys.insert_constant_runs(conn, _VARYING, rows, constant)
    spent = [key not in created for key in run_keys]
    return KeyedRuns(
        ids=[key_ids[key] for key in run_keys],
        own=[() if old else own[i] for i, old in zip(ids, spent, strict=True)],
        carriers=[
            (key_ids[k],) if old else carriers[i]
            for i, k, old in zip(ids, run_keys, spent, strict=True)
        ],
    )


# The columns of a row given to _claim and insert_constant_runs, in order.
_VARYING = ("id", "run_key", "partition_key", "partition_end_key", "partition_count")


def _spend_keys(conn: Connection, origin: str, run_keys: Sequence[str], ids: list[int],
                now: dt.datetime) -> tuple[dict[str, int], set[str]]:
    """Insert the keys with their reserved ids; returns the run each key names (its
    reserved id, or the run of a key already spent) and the keys that went in."""
    key_ids = dict(zip(run_keys, ids, strict=True))
    if len(key_ids) != len(run_keys):
        raise ValueError("queue_keyed_runs needs distinct run keys")
    created = store_keys.insert_keys(conn, origin, key_ids, now)
    if len(created) != len(run_keys):
        for key, run_id, _status in store_keys.spent(
            conn, origin, [k for k in run_keys if k not in created]
        ):
            key_ids[key] = run_id
    return key_ids, created


def _claim(
    conn: Connection,
    defs: Definitions,
    target: str,
    rows: list[Any],
    own: dict[int, tuple[int, ...]],
    carriers: dict[int, tuple[int, ...]],
    reserved: int,
    now: dt.datetime,
) -> list[Any]:
    """Claim the partitions of the new runs; returns the rows to insert and fills in
    ``own`` and ``carriers`` per reserved id."""
    asset = defs.assets.get(target)
    if (
        asset is not None
        and asset.partitions is not None
        and target not in defs.jobs
        and all(row[3] is None for row in rows)
    ):
        # One partition per run (a backfill without --chunk): no ranges to expand.
        candidates: list[tuple[int, str, Sequence[str]]] = [
            (row[0], target, (row[2],)) for row in rows if row[2] is not None]
    else:
        candidates = []
        for run_id, _key, first, last, _count in rows:
            keys = partitions_of(defs, target, first, last, now)
            if keys:
                candidates.append((run_id, target, keys))
    if not candidates:
        return rows
    claimed = claim_runs(conn, candidates)
    if not claimed:
        return rows
    extra = iter(
        store_keys.reserve_ids(
            conn, sum(max(len(c.pieces) - 1, 0) for c in claimed.values()), after=reserved
        )
    )
    kept = []
    for row in rows:
        run_id, key = row[0], row[1]
        got = claimed.get(run_id)
        if got is None or got.whole:
            kept.append(row)
            continue
        piece_ids = []
        for i, piece in enumerate(got.pieces):
            piece_id = run_id if i == 0 else next(extra)
            if i:
                reassign_claims(conn, target, piece, run_id, piece_id)
            piece_ids.append(piece_id)
            kept.append(
                (piece_id, key, piece[0], piece[-1] if len(piece) > 1 else None, len(piece))
            )
        own[run_id] = tuple(piece_ids)
        carriers[run_id] = (*piece_ids, *got.holders)
    return kept
