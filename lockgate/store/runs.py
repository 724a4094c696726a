"""The ``runs`` table: reading runs by id, target and status."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from lockgate.runs.sql import param, parse_db_time
from lockgate.statuses import OPEN_RUN_STATUSES

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["ACTIVE_OR_PENDING", "RUN_COLUMNS", "active_of", "add_deps", "count_by_status",
           "newest_rows", "origins", "row_by_id", "run_row", "targets"]

# Runs that have not finished: a schedule's overlap policy looks at these.
ACTIVE_OR_PENDING = OPEN_RUN_STATUSES


_CHUNK = 500  # ids per IN list

# Every column of ``runs``, in the order of lockgate.store.tables; run_row() reads them.
_COLUMNS = (
    "id", "target", "job", "pool", "origin", "run_key", "partition_key", "partition_end_key",
    "partition_count", "status", "attempt", "priority", "config", "tags", "trigger",
    "queued_at", "not_before", "started_at", "finished_at", "heartbeat_at", "worker_id",
    "pid", "exit_code", "error", "log_path", "cancel_requested", "previous_run_id",
    "backfill_id",
)
RUN_COLUMNS = ", ".join(_COLUMNS)
_TIMES = frozenset({"queued_at", "not_before", "started_at", "finished_at", "heartbeat_at"})


def run_row(row: Sequence[Any]) -> dict[str, Any]:
    """A row selected as ``RUN_COLUMNS``, by column: times as aware UTC datetimes,
    ``cancel_requested`` a bool (SQLite stores 0 or 1), JSON columns as their text."""
    out = dict(zip(_COLUMNS, row, strict=True))
    for column in _TIMES:
        out[column] = parse_db_time(out[column])
    out["cancel_requested"] = bool(out["cancel_requested"])
    return out


def _ids(run_ids: Iterable[int]) -> str:
    return ", ".join(str(int(i)) for i in run_ids)


def add_deps(conn: Connection, deps: Sequence[tuple[int, int]]) -> None:
    """Make each run of ``deps`` (run id, upstream run id) wait for its upstream runs:
    the ``run_deps`` rows, and the runs become ``waiting``."""
    if not deps:
        return
    m = param(conn)
    conn.exec_driver_sql(
        f"INSERT INTO run_deps (run_id, upstream_run_id) VALUES ({m}, {m})", list(deps))
    waiting = sorted({a for a, _ in deps})
    for start in range(0, len(waiting), _CHUNK):
        ids = _ids(waiting[start:start + _CHUNK])
        conn.exec_driver_sql(f"UPDATE runs SET status = 'waiting' WHERE id IN ({ids})")


def targets(conn: Connection, run_ids: Iterable[int]) -> list[tuple[int, str]]:
    """(id, target) of the runs ``run_ids`` that exist."""
    ids = _ids(run_ids)
    if not ids:
        return []
    return [(r[0], r[1]) for r in conn.exec_driver_sql(
        f"SELECT id, target FROM runs WHERE id IN ({ids})")]


def origins(conn: Connection, run_ids: Iterable[int]) -> list[tuple[int, str, str | None]]:
    """(id, origin, trigger JSON text or None) of the runs ``run_ids`` that exist."""
    ids = _ids(run_ids)
    if not ids:
        return []
    return [(r[0], r[1], r[2]) for r in conn.exec_driver_sql(
        f"SELECT id, origin, trigger FROM runs WHERE id IN ({ids})")]


def active_of(conn: Connection, target: str, origin: str) -> list[tuple[int, str]]:
    """(id, status) of the unfinished runs of ``target`` from ``origin``, oldest first."""
    m = param(conn)
    statuses = ", ".join(f"'{s}'" for s in ACTIVE_OR_PENDING)
    # The target narrows the search to ix_runs_target_status.
    return [(r[0], r[1]) for r in conn.exec_driver_sql(
        f"SELECT id, status FROM runs WHERE target = {m} AND origin = {m} AND status IN "
        f"({statuses}) ORDER BY id", (target, origin))]


def count_by_status(conn: Connection) -> dict[str, int]:
    """How many runs are in each status (statuses without runs are missing)."""
    return {r[0]: int(r[1]) for r in conn.exec_driver_sql(
        "SELECT status, COUNT(*) FROM runs GROUP BY status")}


def row_by_id(conn: Connection, run_id: int) -> dict[str, Any] | None:
    """The whole row of run ``run_id`` by column, or None."""
    row = conn.exec_driver_sql(
        f"SELECT {RUN_COLUMNS} FROM runs WHERE id = {param(conn)}", (run_id,)).first()
    return None if row is None else run_row(row)


def newest_rows(conn: Connection, *, status: str | None, target: str | None,
                origin: str | None, backfill_id: int | None, limit: int | None
                ) -> list[dict[str, Any]]:
    """Whole run rows by column, newest first, filtered on each column given."""
    m = param(conn)
    where, values = [], []
    for column, value in (("status", status), ("target", target), ("origin", origin),
                          ("backfill_id", backfill_id)):
        if value is not None:
            where.append(f"{column} = {m}")
            values.append(str(value) if column == "status" else value)
    statement = f"SELECT {RUN_COLUMNS} FROM runs"
    if where:
        statement += " WHERE " + " AND ".join(where)
    statement += " ORDER BY id DESC"
    if limit is not None:
        statement += f" LIMIT {int(limit)}"
    return [run_row(r) for r in conn.exec_driver_sql(statement, tuple(values))]
