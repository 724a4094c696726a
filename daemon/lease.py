"""The decider lease: one daemon at a time evaluates schedules and sensors.

A lease row (holder, expiry, fencing token) in the store. A daemon takes it when it is
free or expired, which increments the token; it renews it well before expiry and gives
it up on shutdown. Every decision (a tick) checks, in its own transaction, that the
lease is still held with the same token and not expired (DESIGN.md invariant 6), so a
daemon that lost its lease while paused or partitioned cannot write a decision: the
check fails and the transaction rolls back. On PostgreSQL the check locks the lease
row, so a takeover waits for an in-flight tick to commit.
"""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

from sqlalchemy import Connection

from lockgate.errors import LockgateError
from lockgate.runs.sql import db_time, param
from lockgate.store import Store
from lockgate.time import clock

__all__ = ["DECIDER", "Lease", "LeaseLost"]

DECIDER = "decider"


class LeaseLost(LockgateError):
    """This daemon no longer holds the decider lease; it must stop deciding."""


class Lease:
    """The decider lease as seen by one daemon (``holder``)."""

    def __init__(self, store: Store, holder: str, ttl: dt.timedelta, name: str = DECIDER
                 ) -> None:
        self.store = store
        self.holder = holder
        self.ttl = ttl
        self.name = name
        self.token: int | None = None
        self.expires_at: dt.datetime | None = None

    @property
    def held(self) -> bool:
        return self.token is not None and self.expires_at is not None \
            and clock.now() < self.expires_at

    def acquire_or_renew(self) -> bool:
        """Renew the lease if held, else take it if free or expired. True when held."""
        now = clock.now()
        expires = now + self.ttl
        with self.store.begin() as conn:
            m = param(conn)
            conn.exec_driver_sql(
                f"INSERT INTO leases (name, token) VALUES ({m}, 0) ON CONFLICT DO NOTHING",
                (self.name,))
            if self.token is not None:
                renewed = conn.exec_driver_sql(
                    f"UPDATE leases SET expires_at = {m}, renewed_at = {m} "
                    f"WHERE name = {m} AND holder = {m} AND token = {m}",
                    (db_time(conn, expires), db_time(conn, now), self.name, self.holder,
                     self.token)).rowcount
                if renewed == 1:
                    self.expires_at = expires
                    return True
                self.token = self.expires_at = None  # someone took it over
            row = conn.exec_driver_sql(
                f"UPDATE leases SET holder = {m}, token = token + 1, expires_at = {m}, "
                f"acquired_at = {m}, renewed_at = {m} WHERE name = {m} AND "
                f"(holder IS NULL OR expires_at IS NULL OR expires_at < {m}) RETURNING token",
                (self.holder, db_time(conn, expires), db_time(conn, now), db_time(conn, now),
                 self.name, db_time(conn, now))).first()
            if row is None:
                row = self._take_from_dead_holder(conn, expires, now)
            if row is None:
                return False
            self.token = int(row[0])
            self.expires_at = expires
            return True

    def _take_from_dead_holder(self, conn: Connection, expires: dt.datetime,
                               now: dt.datetime) -> Any:
        """Take the lease at once when its holder was a process on this host that no
        longer exists (a daemon restarted after kill -9 need not wait out the TTL)."""
        from .recovery import parse_worker_id, process_alive

        m = param(conn)
        holder = conn.exec_driver_sql(
            f"SELECT holder FROM leases WHERE name = {m}", (self.name,)).scalar()
        host, pid, started = parse_worker_id(holder)
        if host != socket.gethostname() or pid is None or started is None \
                or process_alive(pid, started=started):
            return None
        return conn.exec_driver_sql(
            f"UPDATE leases SET holder = {m}, token = token + 1, expires_at = {m}, "
            f"acquired_at = {m}, renewed_at = {m} WHERE name = {m} AND holder = {m} "
            "RETURNING token",
            (self.holder, db_time(conn, expires), db_time(conn, now), db_time(conn, now),
             self.name, holder)).first()

    def check(self, conn: Connection, now: dt.datetime | None = None) -> int:
        """Inside a decision's transaction: raise LeaseLost unless still held. The token."""
        if self.token is None:
            raise LeaseLost(f"{self.holder} does not hold the {self.name} lease")
        now = now or clock.now()
        m = param(conn)
        lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
        row = conn.exec_driver_sql(
            f"SELECT token FROM leases WHERE name = {m} AND holder = {m} AND token = {m} "
            f"AND expires_at > {m}{lock}",
            (self.name, self.holder, self.token, db_time(conn, now))).first()
        if row is None:
            self.token = self.expires_at = None
            raise LeaseLost(f"{self.holder} lost the {self.name} lease (token changed or "
                            "expired); another daemon decides now")
        return int(row[0])

    def release(self) -> None:
        """Give the lease up so a standby takes over at once instead of after the TTL."""
        if self.token is None:
            return
        with self.store.begin() as conn:
            m = param(conn)
            conn.exec_driver_sql(
                f"UPDATE leases SET holder = NULL, expires_at = NULL "
                f"WHERE name = {m} AND holder = {m} AND token = {m}",
                (self.name, self.holder, self.token))
        self.token = self.expires_at = None

    def describe(self, conn: Connection) -> dict[str, object] | None:
        """The lease row: holder, token and expiry (an aware UTC datetime on every store)."""
        from sqlalchemy import select

        from lockgate.store.tables import leases

        row = conn.execute(select(leases.c.holder, leases.c.token, leases.c.expires_at)
                           .where(leases.c.name == self.name)).first()
        return None if row is None else {"holder": row[0], "token": row[1],
                                         "expires_at": row[2]}
