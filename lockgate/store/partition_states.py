"""``partition_status`` (reads and writes) and the runs that hold partitions in progress.

Callers pass a SQLAlchemy connection or a :mod:`lockgate.store.driver` one: only
``exec_driver_sql`` is used. Keys come back as stored; what a key means (a range, the
implicit partition of an unpartitioned asset) is the partitions package's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from lockgate.runs.sql import param
from lockgate.statuses import ACTIVE_RUN_STATUSES

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "active_partition_runs",
    "materialization_starts",
    "materialized_among",
    "materialized_keys",
    "materialized_since",
    "run_spans",
    "stored_rows",
    "stored_statuses",
    "upsert",
]

# The run statuses that put a run's partitions in progress.
_CHUNK = 500  # keys per IN (...) list; below SQLite's variable limit


def stored_statuses(conn: Connection, asset: str) -> dict[str, str]:
    """Each stored partition key of ``asset`` and its status."""
    mark = param(conn)
    # Rows are (key, status) pairs; dict() over them is the fast way for 87,672 keys.
    return dict(cast("list[tuple[str, str]]",
        conn.exec_driver_sql(
            f"SELECT partition_key, status FROM partition_status WHERE asset = {mark}", (asset,)
        ).all())
    )


def stored_rows(conn: Connection, asset: str) -> list[tuple[str, str, int | None, Any]]:
    """Each stored partition of ``asset``: (key, status, run id, updated_at as the driver
    returned it)."""
    mark = param(conn)
    return [(r[0], r[1], r[2], r[3]) for r in conn.exec_driver_sql(
        "SELECT partition_key, status, run_id, updated_at FROM partition_status "
        f"WHERE asset = {mark}", (asset,)).all()]


def upsert(conn: Connection, values: Sequence[tuple[str, str, str, int | None, Any]]) -> None:
    """Write (asset, key, status, run_id, updated_at) rows, replacing what was there."""
    mark = param(conn)
    conn.exec_driver_sql(
        "INSERT INTO partition_status (asset, partition_key, status, run_id, updated_at) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}) "
        "ON CONFLICT (asset, partition_key) DO UPDATE SET status = excluded.status, "
        "run_id = excluded.run_id, updated_at = excluded.updated_at",
        list(values),
    )


def run_spans(conn: Connection, run_ids: Sequence[int]
        ) -> list[tuple[int, str, str | None, str | None]]:
    """(id, target, partition_key, partition_end_key) of the runs ``run_ids``."""
    out: list[tuple[int, str, str | None, str | None]] = []
    for start in range(0, len(run_ids), _CHUNK):
        chunk = run_ids[start:start + _CHUNK]
        out.extend((r[0], r[1], r[2], r[3]) for r in conn.exec_driver_sql(
            "SELECT id, target, partition_key, partition_end_key FROM runs "
            f"WHERE id IN ({', '.join(str(int(i)) for i in chunk)})").all())
    return out


def materialized_keys(conn: Connection, asset: str) -> set[str]:
    """The keys of ``asset`` whose last finished run succeeded."""
    mark = param(conn)
    return {
        key
        for (key,) in conn.exec_driver_sql(
            f"SELECT partition_key FROM partition_status WHERE asset = {mark} "
            "AND status = 'materialized'",
            (asset,),
        ).all()
    }


def active_partition_runs(conn: Connection, asset: str) -> list[tuple[int, str, str | None]]:
    """(run id, first key, last key or None) of every partitioned run of ``asset`` that
    is starting or running."""
    mark = param(conn)
    statuses = ", ".join(f"'{s}'" for s in ACTIVE_RUN_STATUSES)
    return [
        (row[0], row[1], row[2])
        for row in conn.exec_driver_sql(
            "SELECT id, partition_key, partition_end_key FROM runs "
            f"WHERE target = {mark} AND status IN ({statuses}) "
            "AND partition_key IS NOT NULL",
            (asset,),
        ).all()
    ]


def materialized_since(conn: Connection, asset: str, since: Any
        ) -> list[tuple[str, Any, int | None]]:
    """(key, updated_at as the driver returns it, run id) of every materialized partition
    of ``asset`` updated at or after ``since`` (a driver time value; None: all)."""
    mark = param(conn)
    query = (
        "SELECT partition_key, updated_at, run_id FROM partition_status "
        f"WHERE asset = {mark} AND status = 'materialized'"
    )
    args: tuple[Any, ...] = (asset,)
    if since is not None:
        query += f" AND updated_at >= {mark}"
        args = (asset, since)
    return [(row[0], row[1], row[2]) for row in conn.exec_driver_sql(query, args).all()]


def materialized_among(conn: Connection, asset: str, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` of ``asset`` are materialized."""
    mark = param(conn)
    done: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start : start + _CHUNK])
        done.update(
            key
            for (key,) in conn.exec_driver_sql(
                f"SELECT partition_key FROM partition_status WHERE asset = {mark} "
                f"AND status = 'materialized' AND partition_key IN "
                f"({', '.join([mark] * len(chunk))})",
                (asset, *chunk),
            ).all()
        )
    return done


def materialization_starts(conn: Connection, asset: str, keys: Sequence[str]) -> dict[str, Any]:
    """For each of ``keys`` of ``asset`` that is materialized, when the run that
    materialized it started (as the driver returns it; None if unknown)."""
    mark = param(conn)
    out: dict[str, Any] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start : start + _CHUNK])
        out.update(
            (row[0], row[1])
            for row in conn.exec_driver_sql(
                "SELECT s.partition_key, r.started_at FROM partition_status s "
                "JOIN runs r ON r.id = s.run_id "
                f"WHERE s.asset = {mark} AND s.status = 'materialized' "
                f"AND s.partition_key IN ({', '.join([mark] * len(chunk))})",
                (asset, *chunk),
            ).all()
        )
    return out
