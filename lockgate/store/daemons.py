"""The ``daemons`` table: one row per daemon process, refreshed by its heartbeat."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from lockgate.runs.sql import db_time, param

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["beat"]


def beat(conn: Connection, *, daemon_id: str, hostname: str, pid: int, version: str,
         started_at: dt.datetime, now: dt.datetime, info: str) -> None:
    """Record that daemon ``daemon_id`` is alive at ``now`` with ``info`` (JSON text);
    the first beat writes the whole row, later ones its beat time and info."""
    m = param(conn)
    conn.exec_driver_sql(
        "INSERT INTO daemons (id, hostname, pid, version, started_at, last_beat_at, info) "
        f"VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m}) ON CONFLICT (id) DO UPDATE SET "
        "last_beat_at = excluded.last_beat_at, info = excluded.info",
        (daemon_id, hostname, pid, version, db_time(conn, started_at), db_time(conn, now),
         info))
