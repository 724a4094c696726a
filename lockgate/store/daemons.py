"""The ``daemons`` table: one row per daemon process, refreshed by its heartbeat."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["beat"]


def beat(conn: Connection, *, daemon_id: str, hostname: str, pid: int, version: str,
         started_at: dt.datetime, now: dt.datetime, info: str) -> None:
    """Record that daemon ``daemon_id`` is alive at ``now`` with ``info`` (JSON text);
    the first beat writes the whole row, later ones its beat time and info."""
    from sqlalchemy.dialects import postgresql, sqlite

    from lockgate.store.tables import daemons

    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(daemons).values(
        id=daemon_id, hostname=hostname, pid=pid, version=version, started_at=started_at,
        last_beat_at=now, info=info)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["id"], set_={"last_beat_at": now, "info": info}))
