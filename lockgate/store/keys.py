"""The ``run_keys`` ledger and the rows it creates in ``runs``: the statements.

The ledger's rules (one run per (origin, key), reruns of failed keys, absorbing a
request into the run that holds its partitions) live in ``lockgate.runs.ledger`` and
``lockgate.runs.keyed``. Only driver SQL is used, so these also run on a plain driver
connection (:mod:`lockgate.store.driver`) for a fast CLI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lockgate.runs.sql import db_time, param, sql_literal

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["RUN_COLUMNS", "entry", "forget", "insert_constant_runs", "insert_keys",
           "insert_runs", "move_key", "reserve_ids", "spent"]

_CHUNK = 500  # keys per IN (...) lookup; below SQLite's variable limit

RUN_COLUMNS = (
    "id", "target", "job", "pool", "origin", "run_key", "partition_key", "partition_end_key",
    "partition_count", "status", "attempt", "priority", "config", "tags", "trigger",
    "queued_at", "cancel_requested", "previous_run_id", "backfill_id",
)


def reserve_ids(conn: Connection, n: int, *, after: int = 0) -> list[int]:
    """``n`` new run ids, above ``after`` (ids reserved earlier in this transaction)."""
    if n == 0:
        return []
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('runs', 'id')) "
            "FROM generate_series(1, %s)", (n,)
        ).all()
        return [row[0] for row in rows]
    # SQLite: the IMMEDIATE transaction holds the write lock, so nobody else can take
    # ids above the current maximum until this transaction ends. Runs are never
    # deleted, so no key can name an id above it.
    base = max(conn.exec_driver_sql("SELECT MAX(id) FROM runs").scalar() or 0, after)
    return list(range(base + 1, base + n + 1))


def insert_keys(conn: Connection, origin: str, key_ids: dict[str, int],
                 now: dt.datetime) -> set[str]:
    """Insert the keys that are new for ``origin``; returns those that went in."""
    if not key_ids:
        return set()
    stamp = db_time(conn, now)
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "INSERT INTO run_keys (origin, run_key, run_id, created_at) "
            "SELECT %s, k, i, %s FROM unnest(%s::text[], %s::bigint[]) AS t(k, i) "
            "ON CONFLICT DO NOTHING RETURNING run_key",
            (origin, stamp, list(key_ids), list(key_ids.values())),
        ).all()
        return {row[0] for row in rows}
    inserted = conn.exec_driver_sql(
        "INSERT INTO run_keys (origin, run_key, run_id, created_at) VALUES "
        f"({sql_literal(conn, origin)}, ?, ?, {sql_literal(conn, stamp)}) "
        "ON CONFLICT DO NOTHING",
        list(key_ids.items()),
    ).rowcount
    if inserted == len(key_ids):  # sqlite3 sums executemany's rowcount: every key went in
        return set(key_ids)
    lowest = min(key_ids.values())
    rows = conn.exec_driver_sql(
        "SELECT run_key FROM run_keys WHERE origin = ? AND run_id >= ?", (origin, lowest)
    ).all()
    return {row[0] for row in rows if row[0] in key_ids}


def spent(conn: Connection, origin: str, keys: list[str]) -> list[tuple[str, int, str]]:
    """(key, run_id, status of that run) for keys already spent."""
    mark = param(conn)
    out: list[tuple[str, int, str]] = []
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        rows = conn.exec_driver_sql(
            "SELECT k.run_key, k.run_id, r.status FROM run_keys k "
            "LEFT JOIN runs r ON r.id = k.run_id "
            f"WHERE k.origin = {mark} AND k.run_key IN ({', '.join([mark] * len(chunk))})",
            (origin, *chunk),
        ).all()
        out.extend((row[0], row[1], row[2]) for row in rows)
    return out


def move_key(conn: Connection, origin: str, key: str, old: int, new: int) -> bool:
    """Point a spent key at a new run, only if it still points at ``old``."""
    mark = param(conn)
    result = conn.exec_driver_sql(
        f"UPDATE run_keys SET run_id = {mark} "
        f"WHERE origin = {mark} AND run_key = {mark} AND run_id = {mark}",
        (new, origin, key, old),
    )
    return result.rowcount == 1



def insert_runs(conn: Connection, values: Sequence[Sequence[Any]]) -> None:
    """Insert queued runs, one tuple of :data:`RUN_COLUMNS` values each."""
    mark = param(conn)
    conn.exec_driver_sql(
        f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(RUN_COLUMNS))})",
        list(values),
    )


def insert_constant_runs(conn: Connection, varying: Sequence[str], rows: Sequence[Any],
                         constant: Mapping[str, Any]) -> None:
    """Insert runs whose ``varying`` columns come from ``rows`` and whose other columns
    are the same for all: those go into the statement as literals, since binding 19
    parameters per row costs twice the insert itself."""
    mark = param(conn)
    conn.exec_driver_sql(
        f"INSERT INTO runs ({', '.join((*varying, *constant))}) VALUES "
        f"({', '.join([mark] * len(varying))}, "
        f"{', '.join(sql_literal(conn, v) for v in constant.values())})",
        list(rows),
    )


def entry(conn: Connection, origin: str, run_key: str) -> Any:
    """(origin, key, run id, created_at, run status, target) of a spent key, or None."""
    mark = param(conn)
    return conn.exec_driver_sql(
        "SELECT k.origin, k.run_key, k.run_id, k.created_at, r.status, r.target "
        "FROM run_keys k LEFT JOIN runs r ON r.id = k.run_id "
        f"WHERE k.origin = {mark} AND k.run_key = {mark}",
        (origin, run_key),
    ).first()


def forget(conn: Connection, origin: str, run_key: str) -> None:
    """Release a spent key."""
    mark = param(conn)
    conn.exec_driver_sql(
        f"DELETE FROM run_keys WHERE origin = {mark} AND run_key = {mark}", (origin, run_key)
    )
