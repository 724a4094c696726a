"""Retention: the statements that delete finished history, in small batches.

The policy's rules (what age, which tables, how many rows a transaction) live in
``lockgate.runs.retention``; here is what may be deleted, said once:

- a run may go when it finished before the cutoff and is none of: the newest run row
  (on SQLite a new id is ``MAX(id) + 1``: keeping the newest row keeps every pruned id
  unused, see :func:`lockgate.store.keys.reserve_ids`), a run of a running or paused
  backfill, the run a ``partition_status`` row names (the latest materialization of an
  asset partition), the run a ``partition_claims`` row names, or the upstream of a run
  that has not finished. Its ``run_attempts`` and ``run_deps`` rows go with it; its
  ``run_keys`` row stays as the tombstone that absorbs a replay of its key;
- a tick may go when it started before the cutoff (the newest tick row stays);
- a tombstone (a ``run_keys`` row whose run is gone) may go when it was written before
  the ``keys`` cutoff: a replay of its key then runs again.

Each delete names its rows through a subquery of ids with a LIMIT, so a transaction
holds the write lock (SQLite) or its row locks (PostgreSQL, where a row another
transaction holds is skipped) for one batch only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lockgate.runs.sql import db_time, param, parse_db_time
from lockgate.statuses import TERMINAL_RUN_STATUSES, BackfillStatus

if TYPE_CHECKING:
    from lockgate.store.connection import Connection
    from lockgate.store.store import Store

__all__ = ["PrunedRuns", "RunCounts", "auto_vacuum", "count_runs", "count_ticks",
           "delete_tombstones", "existing_ids", "finished_runs", "incremental_vacuum",
           "newest_run_id", "prunable_ids", "prune_runs", "prune_ticks", "tombstone_page",
           "vacuum"]

_TERMINAL = ", ".join(f"'{s}'" for s in TERMINAL_RUN_STATUSES)
_ACTIVE_BACKFILL = f"'{BackfillStatus.RUNNING}', '{BackfillStatus.PAUSED}'"


def _prunable_runs(conn: Connection) -> str:
    """The condition on ``runs r`` of a run that may go; one parameter: the cutoff."""
    newest = " AND r.id < (SELECT MAX(id) FROM runs)" if conn.dialect.name == "sqlite" else ""
    return (
        f"r.status IN ({_TERMINAL}) AND r.finished_at < {param(conn)}{newest} "
        "AND NOT EXISTS (SELECT 1 FROM backfills b WHERE b.id = r.backfill_id "
        f"AND b.status IN ({_ACTIVE_BACKFILL})) "
        "AND NOT EXISTS (SELECT 1 FROM partition_status p WHERE p.run_id = r.id) "
        "AND NOT EXISTS (SELECT 1 FROM partition_claims c WHERE c.run_id = r.id) "
        "AND NOT EXISTS (SELECT 1 FROM run_deps d JOIN runs w ON w.id = d.run_id "
        f"WHERE d.upstream_run_id = r.id AND w.status NOT IN ({_TERMINAL}))"
    )


def _by_age(conn: Connection) -> str:
    # Without statistics SQLite would walk ix_runs_claim's status prefix, every finished
    # run, to find the old ones; the partial index of finished runs by end time seeks
    # them (PostgreSQL's planner picks it by itself).
    return " INDEXED BY ix_runs_finished_at" if conn.dialect.name == "sqlite" else ""


@dataclass(frozen=True, kw_only=True)
class PrunedRuns:
    """One batch of deleted runs: their ids and how many attempt and dep rows went."""

    run_ids: list[int]
    run_attempts: int
    run_deps: int


@dataclass(frozen=True, kw_only=True)
class RunCounts:
    runs: int
    run_attempts: int
    run_deps: int


def prune_runs(conn: Connection, *, cutoff: dt.datetime, batch: int) -> PrunedRuns:
    """Delete up to ``batch`` runs that may go (finished before ``cutoff``), with their
    attempts and deps; their keys stay as tombstones."""
    lock = " FOR UPDATE OF r SKIP LOCKED" if conn.dialect.name == "postgresql" else ""
    ids = [int(r[0]) for r in conn.exec_driver_sql(
        f"SELECT r.id FROM runs r{_by_age(conn)} WHERE {_prunable_runs(conn)} "
        f"LIMIT {int(batch)}{lock}", (db_time(conn, cutoff),))]
    if not ids:
        return PrunedRuns(run_ids=[], run_attempts=0, run_deps=0)
    listed = ", ".join(str(i) for i in ids)
    attempts = conn.exec_driver_sql(
        f"DELETE FROM run_attempts WHERE run_id IN ({listed})").rowcount
    deps = conn.exec_driver_sql(
        f"DELETE FROM run_deps WHERE run_id IN ({listed}) "
        f"OR upstream_run_id IN ({listed})").rowcount
    conn.exec_driver_sql(f"DELETE FROM runs WHERE id IN ({listed})")
    return PrunedRuns(run_ids=ids, run_attempts=max(attempts, 0), run_deps=max(deps, 0))


def count_runs(conn: Connection, *, cutoff: dt.datetime) -> RunCounts:
    """What :func:`prune_runs` would delete in all, batch after batch."""
    where = _prunable_runs(conn)
    row = conn.exec_driver_sql(
        f"SELECT COUNT(*), "
        f"(SELECT COUNT(*) FROM run_attempts a WHERE a.run_id IN "
        f"(SELECT r.id FROM runs r WHERE {where})), "
        f"(SELECT COUNT(*) FROM run_deps d WHERE d.run_id IN "
        f"(SELECT r.id FROM runs r WHERE {where}) OR d.upstream_run_id IN "
        f"(SELECT r.id FROM runs r WHERE {where})) "
        f"FROM runs r WHERE {where}", (db_time(conn, cutoff),) * 4).first()
    assert row is not None  # an aggregate returns one row
    return RunCounts(runs=int(row[0]), run_attempts=int(row[1]), run_deps=int(row[2]))


def prunable_ids(conn: Connection, *, cutoff: dt.datetime, run_ids: Iterable[int]
                 ) -> set[int]:
    """Of ``run_ids``, those :func:`prune_runs` would delete (a dry run's log count)."""
    ids = ", ".join(str(int(i)) for i in run_ids)
    if not ids:
        return set()
    return {int(r[0]) for r in conn.exec_driver_sql(
        f"SELECT r.id FROM runs r WHERE r.id IN ({ids}) AND {_prunable_runs(conn)}",
        (db_time(conn, cutoff),))}


def _prunable_ticks(conn: Connection) -> str:
    return (f"started_at < {param(conn)} AND id < (SELECT MAX(id) FROM ticks)")


def prune_ticks(conn: Connection, *, cutoff: dt.datetime, batch: int) -> int:
    """Delete up to ``batch`` ticks that started before ``cutoff``; how many went."""
    result = conn.exec_driver_sql(
        f"DELETE FROM ticks WHERE id IN (SELECT id FROM ticks WHERE {_prunable_ticks(conn)} "
        f"ORDER BY id LIMIT {int(batch)})", (db_time(conn, cutoff),))
    return max(result.rowcount, 0)


def count_ticks(conn: Connection, *, cutoff: dt.datetime) -> int:
    return int(conn.exec_driver_sql(
        f"SELECT COUNT(*) FROM ticks WHERE {_prunable_ticks(conn)}",
        (db_time(conn, cutoff),)).scalar() or 0)


def tombstone_page(conn: Connection, *, after: tuple[str, str] | None,
                   cutoff: dt.datetime, limit: int) -> tuple[list[tuple[str, str]],
                                                             tuple[str, str] | None]:
    """Tombstones written before ``cutoff`` among the next ``limit`` keys after ``after``
    in key order, and where the page ended (None at the end of the ledger).

    Keys are walked in primary-key order, page by page, so each read is bounded however
    large the ledger is; a read transaction never blocks writers.
    """
    m = param(conn)
    start = "" if after is None else f"WHERE (k.origin, k.run_key) > ({m}, {m}) "
    rows = conn.exec_driver_sql(
        "SELECT k.origin, k.run_key, k.created_at, r.id IS NULL FROM run_keys k "
        f"LEFT JOIN runs r ON r.id = k.run_id {start}"
        f"ORDER BY k.origin, k.run_key LIMIT {int(limit)}", after or ()).all()
    if not rows:
        return [], None
    found = [(str(r[0]), str(r[1])) for r in rows
             if r[3] and (parse_db_time(r[2]) or cutoff) < cutoff]
    last = (str(rows[-1][0]), str(rows[-1][1]))
    return found, (last if len(rows) == limit else None)


def delete_tombstones(conn: Connection, keys: Sequence[tuple[str, str]]) -> int:
    """Delete these tombstones, each only while its run is still gone; how many went."""
    if not keys:
        return 0
    m = param(conn)
    result = conn.exec_driver_sql(
        f"DELETE FROM run_keys WHERE origin = {m} AND run_key = {m} "
        "AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = run_keys.run_id)", list(keys))
    return max(result.rowcount, 0)


def finished_runs(conn: Connection, run_ids: Iterable[int]
                  ) -> dict[int, dt.datetime | None]:
    """Of ``run_ids``, those that exist and have finished, with their end times (a run
    missing from the answer is unfinished or gone; see :func:`existing_ids`)."""
    ids = ", ".join(str(int(i)) for i in run_ids)
    if not ids:
        return {}
    return {int(r[0]): parse_db_time(r[1]) for r in conn.exec_driver_sql(
        f"SELECT id, finished_at FROM runs WHERE id IN ({ids}) "
        f"AND status IN ({_TERMINAL})")}


def newest_run_id(conn: Connection) -> int:
    """The highest run id in the store (0 without runs)."""
    return int(conn.exec_driver_sql("SELECT MAX(id) FROM runs").scalar() or 0)


def existing_ids(conn: Connection, run_ids: Iterable[int]) -> set[int]:
    """Of ``run_ids``, those whose run row exists."""
    ids = ", ".join(str(int(i)) for i in run_ids)
    if not ids:
        return set()
    return {int(r[0]) for r in conn.exec_driver_sql(f"SELECT id FROM runs WHERE id IN ({ids})")}


# -- SQLite's free pages ---------------------------------------------------------------


def auto_vacuum(conn: Connection) -> str:
    """SQLite's auto_vacuum mode of the file: ``none``, ``full`` or ``incremental``."""
    mode = int(conn.exec_driver_sql("PRAGMA auto_vacuum").scalar() or 0)
    return {0: "none", 1: "full", 2: "incremental"}.get(mode, str(mode))


def incremental_vacuum(store: Store, pages: int) -> int:
    """Return up to ``pages`` free pages of an incremental-vacuum SQLite file to the
    filesystem (a no-op in any other mode), in a transaction of its own; how many free
    pages are left."""
    raw = store.engine.raw_connection()
    try:
        conn: Any = raw.driver_connection  # sqlite3, in autocommit mode (engine.py)
        with store._translate():
            # sqlite3's execute() steps a statement without columns once, which frees
            # one page; executescript() runs it to the end (no transaction is open).
            conn.executescript(f"PRAGMA incremental_vacuum({int(pages)});")
            return int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    finally:
        raw.close()


def vacuum(store: Store) -> None:
    """Rebuild a SQLite store's file, converting it to incremental auto-vacuum (a full
    VACUUM: it holds the write lock while it copies the whole file)."""
    raw = store.engine.raw_connection()
    try:
        conn: Any = raw.driver_connection  # sqlite3, in autocommit mode (engine.py)
        with store._translate():
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("VACUUM")
    finally:
        raw.close()
