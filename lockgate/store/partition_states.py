"""Reads of ``partition_status`` and of the runs that hold partitions in progress.

Callers pass a SQLAlchemy connection or a :mod:`lockgate.store.direct` one: only
``exec_driver_sql`` is used. Keys come back as stored; what a key means (a range, the
implicit partition of an unpartitioned asset) is the partitions package's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lockgate.runs.sql import param

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "active_partition_runs",
    "materialization_starts",
    "materialized_among",
    "materialized_keys",
    "materialized_since",
    "stored_statuses",
]

# The run statuses that put a run's partitions in progress.
ACTIVE_RUN_STATUSES = ("starting", "running")
_CHUNK = 500  # keys per IN (...) list; below SQLite's variable limit


def stored_statuses(conn: Any, asset: str) -> dict[str, str]:
    """Each stored partition key of ``asset`` and its status."""
    mark = param(conn)
    return dict(
        conn.exec_driver_sql(
            f"SELECT partition_key, status FROM partition_status WHERE asset = {mark}", (asset,)
        ).all()
    )


def materialized_keys(conn: Any, asset: str) -> set[str]:
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


def active_partition_runs(conn: Any, asset: str) -> list[tuple[int, str, str | None]]:
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


def materialized_since(conn: Any, asset: str, since: Any) -> list[tuple[str, Any, int | None]]:
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


def materialized_among(conn: Any, asset: str, keys: Sequence[str]) -> set[str]:
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


def materialization_starts(conn: Any, asset: str, keys: Sequence[str]) -> dict[str, Any]:
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
