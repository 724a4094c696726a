"""The statements of the queue: claiming runs, their attempts, heartbeats, cancels.

The rules (claim order and limits, retries and their backoff, what a cancel does in
each status) live in ``lockgate.runs.queue``; every update here is conditional on the
status it expects, so a statement replayed or raced changes nothing twice. Statements
on the worker's hot path are written once per placeholder style.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lockgate.runs.sql import db_time, param, sql_literal
from lockgate.statuses import ACTIVE_RUN_STATUSES, RunStatus
from lockgate.store.runs import RUN_COLUMNS, run_row

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["ACTIVE_STATUSES", "active_rows", "adopt", "cancel_queued", "finish", "flag_cancel",
           "heartbeat", "lock_claimers", "mark_running", "running_counts", "start"]

ACTIVE_STATUSES = ACTIVE_RUN_STATUSES
_CLAIM_LOCK = 0x6C6F636B  # "lock": the advisory lock id claimers share on PostgreSQL
_ACTIVE_IN = ", ".join(f"'{s}'" for s in ACTIVE_STATUSES)


def lock_claimers(conn: Connection) -> None:
    """On PostgreSQL, wait for the claim lock (held to the end of the transaction), so
    limits hold across daemons; on SQLite the IMMEDIATE transaction is the lock."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_CLAIM_LOCK,))


def running_counts(conn: Connection) -> list[tuple[str, str | None, int | None, int]]:
    """(job, pool, backfill id, how many) of the runs starting or running."""
    return [(r[0], r[1], r[2], int(r[3])) for r in conn.exec_driver_sql(
        "SELECT job, pool, backfill_id, COUNT(*) FROM runs "
        "WHERE status IN ('starting', 'running') GROUP BY job, pool, backfill_id")]


def start(conn: Connection, run_ids: Sequence[int], *, worker_id: str, now: dt.datetime
          ) -> list[dict[str, Any]]:
    """Move the runs among ``run_ids`` still queued to ``starting`` for ``worker_id`` and
    open their attempts; their rows after the change, by column."""
    ids = ", ".join(str(int(i)) for i in run_ids)
    if not ids:
        return []
    m, at = param(conn), db_time(conn, now)
    # coalesce() keeps SQLite on the primary key: on `status = 'queued'` it would
    # pick the claim index and walk every queued run to find these few.
    rows = [run_row(r) for r in conn.exec_driver_sql(
        f"UPDATE runs SET status = 'starting', worker_id = {m}, started_at = {m}, "
        f"heartbeat_at = {m}, finished_at = NULL, pid = NULL, exit_code = NULL, "
        f"error = NULL, not_before = NULL WHERE id IN ({ids}) "
        f"AND coalesce(status, '') = 'queued' RETURNING {RUN_COLUMNS}",
        (worker_id, at, at)).all()]
    if rows:
        conn.exec_driver_sql(
            "INSERT INTO run_attempts (run_id, attempt, worker_id, started_at, status) "
            f"VALUES ({m}, {m}, {m}, {m}, 'starting')",
            [(r["id"], r["attempt"], worker_id, at) for r in rows])
    return rows


def _by_style(statement: str) -> dict[str, str]:
    """``statement`` (written with ``?``) for each driver's placeholder."""
    return {"?": statement, "%s": statement.replace("?", "%s")}


_MARK_RUN = _by_style(
    "UPDATE runs SET status = 'running', pid = ?, log_path = ? "
    "WHERE id = ? AND attempt = ? AND status = 'starting'")
_MARK_ATTEMPT = _by_style(
    "UPDATE run_attempts SET status = 'running', pid = ?, log_path = ? "
    "WHERE run_id = ? AND attempt = ?")


def mark_running(conn: Connection, params: Mapping[str, object]) -> bool:
    """Record the child's pid (``rid``, ``att``, ``pid``, ``log``); False if the run was no
    longer ``starting`` in that attempt."""
    m = param(conn)
    values = (params["pid"], params["log"], params["rid"], params["att"])
    result = conn.exec_driver_sql(_MARK_RUN[m], values)
    conn.exec_driver_sql(_MARK_ATTEMPT[m], values)
    return result.rowcount == 1


def adopt(conn: Connection, params: Mapping[str, object]) -> bool:
    """Hand run ``rid`` in attempt ``att`` from worker ``old`` to worker ``new`` (its
    supervisor ``pid``, log ``log``, heartbeat ``now``) if it is still active there;
    True if it changed, so two workers never take over one run."""
    m = param(conn)
    values = (params["new"], db_time(conn, _when(params["now"])), params["pid"],
              params["log"], params["rid"], params["att"], params["old"])
    done = conn.exec_driver_sql(
        f"UPDATE runs SET worker_id = {m}, heartbeat_at = {m}, status = 'running', "
        f"pid = {m}, log_path = coalesce(log_path, {m}) WHERE id = {m} AND attempt = {m} "
        f"AND worker_id = {m} AND status IN ({_ACTIVE_IN})", values).rowcount == 1
    if done:
        conn.exec_driver_sql(
            f"UPDATE run_attempts SET worker_id = {m}, status = 'running', pid = {m}, "
            f"log_path = coalesce(log_path, {m}) WHERE run_id = {m} AND attempt = {m}",
            (params["new"], params["pid"], params["log"], params["rid"], params["att"]))
    return done


# The update only touches a run still active in this attempt.
_ACTIVE_ATTEMPT = f"WHERE id = ? AND attempt = ? AND status IN ({_ACTIVE_IN})"
_ENDED = "exit_code = ?, error = ?, heartbeat_at = NULL, log_path = coalesce(?, log_path)"
_FINISH = _by_style(f"UPDATE runs SET {_ENDED}, finished_at = ?, status = ? {_ACTIVE_ATTEMPT}")
_REQUEUE = _by_style(
    f"UPDATE runs SET {_ENDED}, finished_at = NULL, status = 'queued', attempt = ?, "
    f"worker_id = NULL, pid = NULL, not_before = ? {_ACTIVE_ATTEMPT} "
    "AND cancel_requested = {false}")
_FINISH_ATTEMPT = _by_style(
    "UPDATE run_attempts SET status = ?, exit_code = ?, error = ?, finished_at = ? "
    "WHERE run_id = ? AND attempt = ?")


def finish(conn: Connection, params: Mapping[str, object], *, requeue: bool = False,
           only_cancel_requested: bool = False) -> bool:
    """End the run's attempt (``rid``, ``att``, ``code``, ``err``, ``log``, ``st``, ``now``)
    if the run is still active in it: with ``requeue`` back to the queue as attempt
    ``next`` not before ``nb`` (unless a cancel was requested), with
    ``only_cancel_requested`` only when a cancel was requested. True if it changed;
    the attempt row is then ended too."""
    m = param(conn)
    now = db_time(conn, _when(params["now"]))
    status = str(params["st"])
    ended = (params["code"], params["err"], params["log"])
    key = (params["rid"], params["att"])
    if requeue:
        statement = _REQUEUE[m].format(false=sql_literal(conn, False))
        values = (*ended, params["next"], db_time(conn, _when(params["nb"])), *key)
    else:
        statement = _FINISH[m]
        if only_cancel_requested:
            statement += f" AND cancel_requested = {sql_literal(conn, True)}"
        values = (*ended, now, status, *key)
    if conn.exec_driver_sql(statement, values).rowcount != 1:
        return False
    conn.exec_driver_sql(_FINISH_ATTEMPT[m], (status, params["code"], params["err"], now, *key))
    return True


def _when(value: object) -> dt.datetime | None:
    if value is not None and not isinstance(value, dt.datetime):
        raise TypeError(f"a time parameter must be a datetime, not {type(value).__name__}")
    return value


def heartbeat(conn: Connection, *, worker_id: str, now: dt.datetime) -> list[int]:
    """Renew the heartbeat of the worker's active runs; the ids with a cancel request."""
    m = param(conn)
    conn.exec_driver_sql(
        f"UPDATE runs SET heartbeat_at = {m} WHERE worker_id = {m} "
        f"AND status IN ({_ACTIVE_IN})", (db_time(conn, now), worker_id))
    rows = conn.exec_driver_sql(
        f"SELECT id FROM runs WHERE worker_id = {m} AND status IN ({_ACTIVE_IN}) "
        f"AND cancel_requested = {sql_literal(conn, True)}", (worker_id,))
    return [int(row[0]) for row in rows]


def active_rows(conn: Connection, *, worker_ids: Iterable[str] | None = None
                ) -> list[dict[str, Any]]:
    """Rows of the runs starting or running, by column, optionally only those of some
    workers."""
    statement = f"SELECT {RUN_COLUMNS} FROM runs WHERE status IN ({_ACTIVE_IN})"
    values: tuple[str, ...] = ()
    if worker_ids is not None:
        values = tuple(worker_ids)
        if not values:
            return []
        m = param(conn)
        statement += f" AND worker_id IN ({', '.join(m for _ in values)})"
    return [run_row(r) for r in conn.exec_driver_sql(statement, values)]


def cancel_queued(conn: Connection, run_id: int, *, now: dt.datetime) -> bool:
    """Cancel run ``run_id`` if it is still queued; True if it was."""
    m = param(conn)
    return conn.exec_driver_sql(
        f"UPDATE runs SET status = '{RunStatus.CANCELED}', finished_at = {m}, "
        f"error = 'canceled before it started' WHERE id = {m} AND status = 'queued'",
        (db_time(conn, now), run_id)).rowcount == 1


def flag_cancel(conn: Connection, run_id: int) -> None:
    """Ask the worker running ``run_id`` to stop it."""
    conn.exec_driver_sql(
        f"UPDATE runs SET cancel_requested = {sql_literal(conn, True)} WHERE id = {param(conn)}",
        (run_id,))
