"""One open materialization request per asset partition: the rule the ledger applies.

A run of an asset materializes partitions: its ``partition_key`` through its
``partition_end_key`` (a chunk or a range), or the one implicit partition
(:data:`~lockgate.definitions.UNPARTITIONED_KEY`) of an unpartitioned asset. Whatever
its origin (backfill, sensor, schedule, manual), a new run claims those partitions in
the transaction that queues it (:mod:`lockgate.store.partition_claims`). A partition
already claimed by a waiting, queued or running run is not claimed again: a request
whose partitions are all held is absorbed into the run holding them (its run key names
that run), and a range of which only some partitions are held keeps the rest, as one
run per contiguous piece. Whichever origin asked first wins; a finished run's claim is
taken over.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lockgate.definitions import UNPARTITIONED_KEY, Definitions
from lockgate.store.partition_claims import claim_partitions, unclaimed_open_runs

__all__ = ["CLAIMS_REVISION", "Claimed", "claim_open_runs", "claim_runs", "claims_missing",
           "partitions_of"]

#: The schema revision that added ``partition_claims``.
CLAIMS_REVISION = "0005"


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a candidate run won: its partitions as contiguous pieces (one piece: all of
    them; none: absorbed) and the other runs holding the rest, in the order met."""

    pieces: tuple[tuple[str, ...], ...]
    holders: tuple[int, ...]

    @property
    def whole(self) -> bool:
        return len(self.pieces) == 1 and not self.holders


def partitions_of(
    defs: Definitions, target: str, first: str | None, last: str | None, now: dt.datetime
) -> list[str] | None:
    """The asset partitions a run of ``target`` materializes, or None (a job, or a run
    that names no partition)."""
    asset = defs.assets.get(target)
    if asset is None or target in defs.jobs:
        return None
    if asset.partitions is None:
        return [UNPARTITIONED_KEY]
    if first is None:
        return None
    if last is None or last == first:
        return [first]
    # Only a run over a range needs the partition set; imported then, for its keys.
    from lockgate.partitions import PartitionKeyError, partitions_for

    try:
        keys: list[str] = partitions_for(asset.partitions).keys_between(first, last, now)
        return keys
    except PartitionKeyError:  # the definition changed under the request: what we know
        return [first, last]


def claim_runs(
    conn: Any, candidates: Sequence[tuple[int, str, Sequence[str]]]
) -> dict[int, Claimed]:
    """Claim the partitions of each candidate (run id, asset, partition keys in order).

    Returns what the candidates that did not win all their partitions got; the others
    (usually all of them) won everything. Within one call the first candidate naming a
    partition claims it; a later one loses it to that candidate's run.
    """
    wanted: dict[str, dict[str, int]] = {}
    for run_id, asset, keys in candidates:
        claims = wanted.setdefault(asset, {})
        for key in keys:
            claims.setdefault(key, run_id)
    held: dict[str, dict[str, int]] = {}
    for asset, claims in wanted.items():
        lost = claim_partitions(conn, asset, list(claims.items()))
        if lost:
            claims.update(lost)
            held[asset] = claims
    out: dict[int, Claimed] = {}
    for run_id, asset, keys in candidates:
        holders = held.get(asset, wanted[asset])
        if all(holders[key] == run_id for key in keys):
            continue
        pieces: list[tuple[str, ...]] = []
        others: dict[int, None] = {}
        current: list[str] = []
        for key in keys:
            if holders[key] == run_id:
                current.append(key)
                continue
            others[holders[key]] = None
            if current:
                pieces.append(tuple(current))
                current = []
        if current:
            pieces.append(tuple(current))
        out[run_id] = Claimed(pieces=tuple(pieces), holders=tuple(others))
    return out


def claims_missing(before: str | None, after: str) -> bool:
    """Whether an upgrade from revision ``before`` to ``after`` added claims to a store
    that may hold open runs (revisions are zero-padded numbers: they sort as text)."""
    return before is not None and before < CLAIMS_REVISION <= after


def claim_open_runs(conn: Any, defs: Definitions, now: dt.datetime) -> int:
    """Claim the partitions of the open runs that hold none, as if they had claimed them
    when queued; returns how many runs claimed. Idempotent.

    Run after an upgrade: a store from before claims existed has queued and running
    runs without them, and a new request for their partitions must be absorbed into
    them as into any open run.
    """
    candidates: list[tuple[int, str, Sequence[str]]] = []
    for run_id, target, first, last in unclaimed_open_runs(
            conn, unpartitioned_key=UNPARTITIONED_KEY):
        keys = partitions_of(defs, target, first, last, now)
        if keys:
            candidates.append((run_id, target, keys))
    claim_runs(conn, candidates)
    return len(candidates)
