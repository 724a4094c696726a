"""Partition claims: which run holds each asset partition it is going to materialize.

One open materialization request per asset partition (``partition_claims``, primary key
(asset, partition_key)). A run claims every partition it covers in the transaction that
queues it; a claim whose run has finished (succeeded, failed, canceled) is taken over by
the new run, one whose run is still waiting, queued or running is not, and the caller
absorbs its request into that run. The database decides: the insert is
conflict-tolerant and the takeover a conditional update, so a backfill racing a sensor
tick, or two daemons, cannot both win a partition.

On PostgreSQL, the runs holding the partitions a caller lost are locked (``FOR SHARE``)
until its transaction ends, so they cannot finish before what waits for them (a
backfill's downstream runs) is committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lockgate.runs.sql import param, sql_literal
from lockgate.statuses import TERMINAL_RUN_STATUSES

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["claim_partitions", "reassign_claims", "unclaimed_open_runs"]

_CHUNK = 500  # keys per IN (...) list; below SQLite's variable limit
_FINISHED = "('succeeded', 'failed', 'canceled')"
_TAKE_OVER = (
    "ON CONFLICT (asset, partition_key) DO UPDATE SET run_id = excluded.run_id "
    "WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = partition_claims.run_id "
    f"AND r.status IN {_FINISHED})"
)


def claim_partitions(conn: Connection, asset: str, claims: Sequence[tuple[str, int]]
        ) -> dict[str, int]:
    """Claim each (partition key, run id) of ``asset``; returns the keys this call did
    not win, each with the run that holds it (waiting, queued or running). Keys must be
    distinct.
    """
    lost: dict[str, int] = {}
    pending = list(claims)
    for _ in range(5):  # a holder that finished under us is taken over on the next pass
        if not pending:
            return lost
        missed = _insert(conn, asset, pending)
        if not missed:
            return lost
        mine = dict(pending)
        pending = []
        for key, run_id, status in _holders(conn, asset, missed):
            if status in TERMINAL_RUN_STATUSES:
                pending.append((key, mine[key]))
            else:
                lost[key] = run_id
    if pending:
        raise RuntimeError(f"could not settle the claims of {asset!r}: runs kept finishing")
    return lost


def unclaimed_open_runs(conn: Connection, *, unpartitioned_key: str
                        ) -> list[tuple[int, str, str | None, str | None]]:
    """(id, target, partition_key, partition_end_key) of each open run whose first
    partition (``unpartitioned_key`` for a run that names none) nobody claims: runs
    queued before the store had claims. A job's runs are among them; the caller knows
    which targets are assets."""
    mark = param(conn)
    return [(r[0], r[1], r[2], r[3]) for r in conn.exec_driver_sql(
        "SELECT r.id, r.target, r.partition_key, r.partition_end_key FROM runs r "
        f"WHERE r.status NOT IN {_FINISHED} AND NOT EXISTS (SELECT 1 FROM partition_claims c "
        f"WHERE c.asset = r.target AND c.partition_key = COALESCE(r.partition_key, {mark})) "
        "ORDER BY r.id", (unpartitioned_key,)).all()]


def reassign_claims(conn: Connection, asset: str, keys: Sequence[str], old: int, new: int) -> None:
    """Move the claims of ``keys`` from run ``old`` to run ``new`` (a run split in two)."""
    mark = param(conn)
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start : start + _CHUNK])
        conn.exec_driver_sql(
            f"UPDATE partition_claims SET run_id = {mark} WHERE asset = {mark} "
            f"AND run_id = {mark} AND partition_key IN ({', '.join([mark] * len(chunk))})",
            (new, asset, old, *chunk),
        )


def _insert(conn: Connection, asset: str, claims: list[tuple[str, int]]) -> list[str]:
    """Insert or take over the claims; returns the keys that another run holds."""
    keys = [key for key, _ in claims]
    if conn.dialect.name == "postgresql":
        won = {
            row[0]
            for row in conn.exec_driver_sql(
                "INSERT INTO partition_claims (asset, partition_key, run_id) "
                "SELECT %s, k, i FROM unnest(%s::text[], %s::bigint[]) AS t(k, i) "
                f"{_TAKE_OVER} RETURNING partition_key",
                (asset, keys, [run_id for _, run_id in claims]),
            ).all()
        }
        return [key for key in keys if key not in won]
    # The asset is the same on every row: a literal, not a parameter bound 87,672 times.
    done = conn.exec_driver_sql(
        "INSERT INTO partition_claims (asset, partition_key, run_id) "
        f"VALUES ({sql_literal(conn, asset)}, ?, ?) {_TAKE_OVER}",
        claims,
    ).rowcount
    if done == len(claims):  # sqlite3 sums executemany's rowcount: every claim went in
        return []
    mine = dict(claims)
    return [key for key, run_id, _status in _holders(conn, asset, keys) if mine[key] != run_id]


def _holders(conn: Connection, asset: str, keys: Sequence[str]
        ) -> list[tuple[str, int, str | None]]:
    """(key, holding run, its status) of each key; on PostgreSQL those runs stay locked."""
    mark = param(conn)
    lock = " FOR SHARE OF r" if conn.dialect.name == "postgresql" else ""
    out: list[tuple[str, int, str | None]] = []
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start : start + _CHUNK])
        out.extend(
            (row[0], row[1], row[2])
            for row in conn.exec_driver_sql(
                "SELECT c.partition_key, c.run_id, r.status FROM partition_claims c "
                "JOIN runs r ON r.id = c.run_id "
                f"WHERE c.asset = {mark} AND c.partition_key IN "
                f"({', '.join([mark] * len(chunk))}){lock}",
                (asset, *chunk),
            ).all()
        )
    return out
