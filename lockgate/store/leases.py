"""The ``leases`` table: the statements behind the decider lease.

The rules (when to renew, take over or give up) live in ``daemon/lease.py``; each
function here is one statement on one lease row, named by what it does.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from lockgate.runs.sql import db_time, param, parse_db_time

if TYPE_CHECKING:
    from lockgate.store.connection import Connection

__all__ = ["LeaseRow", "check", "describe", "ensure", "holder", "release", "renew",
           "take_free", "take_from"]

LeaseRow = dict[str, object]


def ensure(conn: Connection, name: str) -> None:
    """Create the lease row ``name`` (free, token 0) unless it exists."""
    m = param(conn)
    conn.exec_driver_sql(
        f"INSERT INTO leases (name, token) VALUES ({m}, 0) ON CONFLICT DO NOTHING", (name,))


def renew(conn: Connection, name: str, holder: str, token: int, *, expires: dt.datetime,
          now: dt.datetime) -> bool:
    """Move the expiry of a lease still held by ``holder`` with ``token``; False if not."""
    m = param(conn)
    return conn.exec_driver_sql(
        f"UPDATE leases SET expires_at = {m}, renewed_at = {m} "
        f"WHERE name = {m} AND holder = {m} AND token = {m}",
        (db_time(conn, expires), db_time(conn, now), name, holder, token)).rowcount == 1


def take_free(conn: Connection, name: str, holder: str, *, expires: dt.datetime,
              now: dt.datetime) -> int | None:
    """Take the lease if nobody holds it or it expired before ``now``: the new token."""
    m = param(conn)
    row = conn.exec_driver_sql(
        f"UPDATE leases SET holder = {m}, token = token + 1, expires_at = {m}, "
        f"acquired_at = {m}, renewed_at = {m} WHERE name = {m} AND "
        f"(holder IS NULL OR expires_at IS NULL OR expires_at < {m}) RETURNING token",
        (holder, db_time(conn, expires), db_time(conn, now), db_time(conn, now),
         name, db_time(conn, now))).first()
    return None if row is None else int(row[0])


def holder(conn: Connection, name: str) -> str | None:
    """Who holds the lease now (None when free or missing)."""
    m = param(conn)
    found = conn.exec_driver_sql(f"SELECT holder FROM leases WHERE name = {m}", (name,)).scalar()
    return None if found is None else str(found)


def take_from(conn: Connection, name: str, holder: str, *, previous: str | None,
              expires: dt.datetime, now: dt.datetime) -> int | None:
    """Take the lease from ``previous`` if it still holds it: the new token."""
    m = param(conn)
    row = conn.exec_driver_sql(
        f"UPDATE leases SET holder = {m}, token = token + 1, expires_at = {m}, "
        f"acquired_at = {m}, renewed_at = {m} WHERE name = {m} AND holder = {m} "
        "RETURNING token",
        (holder, db_time(conn, expires), db_time(conn, now), db_time(conn, now),
         name, previous)).first()
    return None if row is None else int(row[0])


def check(conn: Connection, name: str, holder: str, token: int, now: dt.datetime) -> int | None:
    """The token if ``holder`` still holds the lease with ``token`` unexpired at ``now``.
    On PostgreSQL the row stays locked until the transaction ends, so a takeover waits
    for the decision being written."""
    m = param(conn)
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    row = conn.exec_driver_sql(
        f"SELECT token FROM leases WHERE name = {m} AND holder = {m} AND token = {m} "
        f"AND expires_at > {m}{lock}",
        (name, holder, token, db_time(conn, now))).first()
    return None if row is None else int(row[0])


def release(conn: Connection, name: str, holder: str, token: int) -> None:
    """Free the lease if ``holder`` still holds it with ``token``."""
    m = param(conn)
    conn.exec_driver_sql(
        f"UPDATE leases SET holder = NULL, expires_at = NULL "
        f"WHERE name = {m} AND holder = {m} AND token = {m}",
        (name, holder, token))


def describe(conn: Connection, name: str) -> LeaseRow | None:
    """The lease row: holder, token and expiry (an aware UTC datetime on every store)."""
    row = conn.exec_driver_sql(
        f"SELECT holder, token, expires_at FROM leases WHERE name = {param(conn)}",
        (name,)).first()
    return None if row is None else {"holder": row[0], "token": row[1],
                                     "expires_at": parse_db_time(row[2])}
