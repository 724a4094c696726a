"""The ``daemons`` table: one row per daemon process, refreshed by its heartbeat."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lockgate.runs.sql import db_time, param, parse_db_time

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["DaemonRow", "beat", "running", "stopped"]


@dataclass(frozen=True, kw_only=True)
class DaemonRow:
    """A daemon as its row says: where it runs, its lockgate version, the schema head
    it was built for (None when its version did not record one) and its last beat."""

    id: str
    hostname: str
    pid: int
    version: str
    schema: str | None
    started_at: dt.datetime
    last_beat_at: dt.datetime


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


def stopped(conn: Connection, *, daemon_id: str, now: dt.datetime) -> None:
    """Record that daemon ``daemon_id`` stopped at ``now``."""
    m = param(conn)
    conn.exec_driver_sql(f"UPDATE daemons SET stopped_at = {m} WHERE id = {m}",
                         (db_time(conn, now), daemon_id))


def running(conn: Connection, *, beat_since: dt.datetime) -> list[DaemonRow]:
    """The daemons that have not recorded a stop and beat at or after ``beat_since``,
    oldest start first."""
    m = param(conn)
    rows = conn.exec_driver_sql(
        "SELECT id, hostname, pid, version, started_at, last_beat_at, info FROM daemons "
        f"WHERE stopped_at IS NULL AND last_beat_at >= {m} ORDER BY started_at, id",
        (db_time(conn, beat_since),)).all()
    found = []
    for r in rows:
        started, last = parse_db_time(r[4]), parse_db_time(r[5])
        assert started is not None and last is not None  # NOT NULL columns
        found.append(DaemonRow(id=r[0], hostname=r[1], pid=int(r[2]), version=r[3],
                               schema=_schema(r[6]), started_at=started, last_beat_at=last))
    return found


def _schema(info: str | None) -> str | None:
    try:
        value = json.loads(info or "{}").get("schema")
    except (ValueError, AttributeError):  # a row written by hand, or by another version
        return None
    return value if isinstance(value, str) else None
