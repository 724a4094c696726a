"""The ``backfills`` table, and the runs each backfill launched or holds back.

The state machine (which transitions are allowed, when a backfill is finished) lives
in :mod:`lockgate.partitions.backfills`; these are its statements. Lists of run ids are
written into ``IN (...)`` lists in chunks of ``_CHUNK``, below SQLite's variable limit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lockgate.runs.sql import db_time, param, parse_db_time

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = [
    "BackfillRow",
    "backfills_of",
    "cancel_open_runs",
    "cancel_waiting_dependents",
    "create",
    "finish",
    "get",
    "has_dependents",
    "open_progress",
    "recent",
    "release_dependents",
    "reopen",
    "request_stop",
    "requeue",
    "retryable_runs",
    "run_counts",
    "set_finished",
    "set_run_count",
    "set_status",
]

_CHUNK = 500
_COLUMNS = ("id, asset, status, selection, chunk, max_concurrent, priority, partition_count, "
            "run_count, created_at, updated_at, finished_at")


@dataclass(frozen=True, kw_only=True)
class BackfillRow:
    """One row of ``backfills``; ``selection`` is the JSON text the launch recorded."""

    id: int
    asset: str
    status: str
    selection: str
    chunk: int
    max_concurrent: int | None
    priority: int
    partition_count: int
    run_count: int
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    finished_at: dt.datetime | None


def _row(r: Sequence[Any]) -> BackfillRow:
    return BackfillRow(
        id=int(r[0]), asset=r[1], status=r[2], selection=r[3], chunk=r[4],
        max_concurrent=r[5], priority=r[6], partition_count=r[7], run_count=r[8],
        created_at=parse_db_time(r[9]), updated_at=parse_db_time(r[10]),
        finished_at=parse_db_time(r[11]))


def _id_lists(run_ids: Sequence[int]) -> Iterator[str]:
    for start in range(0, len(run_ids), _CHUNK):
        yield ", ".join(str(int(i)) for i in run_ids[start:start + _CHUNK])


def create(conn: Connection, *, asset: str, selection: str, chunk: int | None,
           max_concurrent: int | None, priority: int, partition_count: int, run_count: int,
           now: dt.datetime) -> int:
    """Record a running backfill (``selection`` as JSON text); its id."""
    m = param(conn)
    return int(conn.exec_driver_sql(
        "INSERT INTO backfills (asset, status, selection, chunk, max_concurrent, priority, "
        "partition_count, run_count, created_at, updated_at) VALUES "
        f"({m}, 'running', {m}, {m}, {m}, {m}, {m}, {m}, {m}, {m}) RETURNING id",
        (asset, selection, chunk, max_concurrent, priority, partition_count, run_count,
         db_time(conn, now), db_time(conn, now))).scalar_one())


def set_run_count(conn: Connection, backfill_id: int, run_count: int) -> None:
    m = param(conn)
    conn.exec_driver_sql(f"UPDATE backfills SET run_count = {m} WHERE id = {m}",
                         (run_count, backfill_id))


def get(conn: Connection, backfill_id: int) -> BackfillRow | None:
    row = conn.exec_driver_sql(f"SELECT {_COLUMNS} FROM backfills WHERE id = {param(conn)}",
                               (backfill_id,)).first()
    return None if row is None else _row(row)


def recent(conn: Connection, *, limit: int) -> list[BackfillRow]:
    """The last ``limit`` backfills, newest first."""
    return [_row(r) for r in conn.exec_driver_sql(
        f"SELECT {_COLUMNS} FROM backfills ORDER BY id DESC LIMIT {param(conn)}", (limit,))]


def run_counts(conn: Connection, backfill_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """For each of ``backfill_ids``: how many of its runs are in each status."""
    out: dict[int, dict[str, int]] = {int(i): {} for i in backfill_ids}
    for ids in _id_lists(list(out)):
        for backfill_id, status, n in conn.exec_driver_sql(
                "SELECT backfill_id, status, COUNT(*) FROM runs "
                f"WHERE backfill_id IN ({ids}) GROUP BY backfill_id, status"):
            out[int(backfill_id)][status] = int(n)
    return out


def set_status(conn: Connection, backfill_id: int, status: str, now: dt.datetime, *,
               finished: bool = False) -> None:
    m = param(conn)
    at = db_time(conn, now)
    if finished:
        conn.exec_driver_sql(
            f"UPDATE backfills SET status = {m}, updated_at = {m}, finished_at = {m} "
            f"WHERE id = {m}", (status, at, at, backfill_id))
    else:
        conn.exec_driver_sql(f"UPDATE backfills SET status = {m}, updated_at = {m} "
                             f"WHERE id = {m}", (status, at, backfill_id))


def reopen(conn: Connection, backfill_id: int, now: dt.datetime) -> None:
    """Running again, not finished: after a retry re-queued some of its runs."""
    m = param(conn)
    conn.exec_driver_sql(f"UPDATE backfills SET status = 'running', updated_at = {m}, "
                         f"finished_at = NULL WHERE id = {m}", (db_time(conn, now), backfill_id))


def set_finished(conn: Connection, backfill_id: int, now: dt.datetime, *,
                 touch: bool = False) -> None:
    """Stamp ``finished_at`` (and ``updated_at`` with ``touch``), the status unchanged."""
    m = param(conn)
    at = db_time(conn, now)
    if touch:
        conn.exec_driver_sql(f"UPDATE backfills SET finished_at = {m}, updated_at = {m} "
                             f"WHERE id = {m}", (at, at, backfill_id))
    else:
        conn.exec_driver_sql(f"UPDATE backfills SET finished_at = {m} WHERE id = {m}",
                             (at, backfill_id))


def finish(conn: Connection, backfill_id: int, status: str, now: dt.datetime, *,
           from_statuses: Sequence[str]) -> None:
    """Set the final ``status`` if the backfill is still in one of ``from_statuses``."""
    m = param(conn)
    at = db_time(conn, now)
    allowed = ", ".join([m] * len(from_statuses))
    conn.exec_driver_sql(
        f"UPDATE backfills SET status = {m}, finished_at = {m}, updated_at = {m} "
        f"WHERE id = {m} AND status IN ({allowed})",
        (status, at, at, backfill_id, *from_statuses))


def cancel_open_runs(conn: Connection, backfill_id: int, now: dt.datetime, *,
                     statuses: Sequence[str], error: str) -> int:
    """Cancel the backfill's runs in ``statuses`` (those not started); how many."""
    m = param(conn)
    among = ", ".join([m] * len(statuses))
    return int(conn.exec_driver_sql(
        f"UPDATE runs SET status = 'canceled', finished_at = {m}, error = {m} "
        f"WHERE backfill_id = {m} AND status IN ({among})",
        (db_time(conn, now), error, backfill_id, *statuses)).rowcount)


def request_stop(conn: Connection, backfill_id: int, *, statuses: Sequence[str]) -> int:
    """Ask workers to stop the backfill's runs in ``statuses``; how many were asked."""
    m = param(conn)
    among = ", ".join([m] * len(statuses))
    return int(conn.exec_driver_sql(
        f"UPDATE runs SET cancel_requested = {_true(conn)} "
        f"WHERE backfill_id = {m} AND status IN ({among})",
        (backfill_id, *statuses)).rowcount)


def _true(conn: Connection) -> str:
    return "TRUE" if conn.dialect.name == "postgresql" else "1"


def _false(conn: Connection) -> str:
    return "FALSE" if conn.dialect.name == "postgresql" else "0"


def retryable_runs(conn: Connection, backfill_id: int, *, statuses: Sequence[str]) -> list[int]:
    """The ids of the backfill's runs in ``statuses``."""
    m = param(conn)
    among = ", ".join([m] * len(statuses))
    return [int(r) for (r,) in conn.exec_driver_sql(
        f"SELECT id FROM runs WHERE backfill_id = {m} AND status IN ({among})",
        (backfill_id, *statuses))]


def requeue(conn: Connection, run_ids: Sequence[int], now: dt.datetime) -> None:
    """Queue ``run_ids`` again for a new attempt, their last attempt's traces cleared;
    those with an upstream run not succeeded wait instead."""
    m = param(conn)
    for ids in _id_lists(run_ids):
        conn.exec_driver_sql(
            "UPDATE runs SET status = 'queued', attempt = attempt + 1, not_before = NULL, "
            "error = NULL, exit_code = NULL, "
            f"cancel_requested = {_false(conn)}, finished_at = NULL, worker_id = NULL, "
            f"pid = NULL, started_at = NULL, queued_at = {m} WHERE id IN ({ids})",
            (db_time(conn, now),))
    for ids in _id_lists(run_ids):
        conn.exec_driver_sql(
            f"UPDATE runs SET status = 'waiting' WHERE id IN ({ids}) AND status = 'queued' "
            "AND EXISTS (SELECT 1 FROM run_deps d JOIN runs u ON u.id = d.upstream_run_id "
            "WHERE d.run_id = runs.id AND u.status <> 'succeeded')")


def has_dependents(conn: Connection, run_ids: Sequence[int]) -> bool:
    """Whether any run depends on one of ``run_ids``."""
    for ids in _id_lists(run_ids):
        if conn.exec_driver_sql(
                f"SELECT 1 FROM run_deps WHERE upstream_run_id IN ({ids}) LIMIT 1").first():
            return True
    return False


def backfills_of(conn: Connection, run_ids: Sequence[int]) -> set[int]:
    """The backfills that ``run_ids`` belong to."""
    out: set[int] = set()
    for ids in _id_lists(run_ids):
        out.update(int(b) for (b,) in conn.exec_driver_sql(
            f"SELECT DISTINCT backfill_id FROM runs WHERE id IN ({ids}) "
            "AND backfill_id IS NOT NULL"))
    return out


def release_dependents(conn: Connection, upstream_ids: Sequence[int]) -> None:
    """Queue the waiting runs downstream of ``upstream_ids`` whose every upstream run
    has succeeded."""
    for ids in _id_lists(upstream_ids):
        conn.exec_driver_sql(
            "UPDATE runs SET status = 'queued' WHERE status = 'waiting' AND id IN "
            f"(SELECT run_id FROM run_deps WHERE upstream_run_id IN ({ids})) "
            "AND NOT EXISTS (SELECT 1 FROM run_deps d JOIN runs u ON u.id = d.upstream_run_id "
            "WHERE d.run_id = runs.id AND u.status <> 'succeeded')")


def cancel_waiting_dependents(conn: Connection, upstream_ids: Sequence[int],
                              now: dt.datetime, *, error: str) -> list[int]:
    """Cancel the waiting runs directly downstream of ``upstream_ids``; returns them."""
    m = param(conn)
    at = db_time(conn, now)
    canceled: list[int] = []
    for ids in _id_lists(upstream_ids):
        dependents = [int(r) for (r,) in conn.exec_driver_sql(
            f"SELECT DISTINCT d.run_id FROM run_deps d JOIN runs r ON r.id = d.run_id "
            f"WHERE d.upstream_run_id IN ({ids}) AND r.status = 'waiting'")]
        for run_id in dependents:
            conn.exec_driver_sql(
                f"UPDATE runs SET status = 'canceled', finished_at = {m}, error = {m} "
                f"WHERE id = {m} AND status = 'waiting'", (at, error, run_id))
        canceled.extend(dependents)
    return canceled


def open_progress(conn: Connection) -> dict[int, tuple[int, int]]:
    """Each running or paused backfill with runs: (its runs, how many have finished)."""
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in conn.exec_driver_sql(
        "SELECT b.id, COUNT(r.id), SUM(CASE WHEN r.status IN "
        "('succeeded', 'failed', 'canceled') THEN 1 ELSE 0 END) "
        "FROM backfills b JOIN runs r ON r.backfill_id = b.id "
        "WHERE b.status IN ('running', 'paused') GROUP BY b.id")}
