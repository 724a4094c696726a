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

from lockgate.errors import LeaseLost
from lockgate.store import Store, leases
from lockgate.store.connection import Connection
from lockgate.time import clock

__all__ = ["DECIDER", "Lease", "LeaseLost"]

DECIDER = "decider"


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
            leases.ensure(conn, self.name)
            if self.token is not None:
                if leases.renew(conn, self.name, self.holder, self.token, expires=expires,
                                now=now):
                    self.expires_at = expires
                    return True
                self.token = self.expires_at = None  # someone took it over
            token = leases.take_free(conn, self.name, self.holder, expires=expires, now=now)
            if token is None:
                token = self._take_from_dead_holder(conn, expires, now)
            if token is None:
                return False
            self.token = token
            self.expires_at = expires
            return True

    def _take_from_dead_holder(self, conn: Connection, expires: dt.datetime,
                               now: dt.datetime) -> int | None:
        """Take the lease at once when its holder was a process on this host that no
        longer exists (a daemon restarted after kill -9 need not wait out the TTL)."""
        from .recovery import parse_worker_id, process_alive

        holder = leases.holder(conn, self.name)
        host, pid, started = parse_worker_id(holder)
        if host != socket.gethostname() or pid is None or started is None \
                or process_alive(pid, started=started):
            return None
        return leases.take_from(conn, self.name, self.holder, previous=holder,
                                expires=expires, now=now)

    def check(self, conn: Connection, now: dt.datetime | None = None) -> int:
        """Inside a decision's transaction: raise LeaseLost unless still held. The token."""
        if self.token is None:
            raise LeaseLost(f"{self.holder} does not hold the {self.name} lease")
        token = leases.check(conn, self.name, self.holder, self.token, now or clock.now())
        if token is None:
            self.token = self.expires_at = None
            raise LeaseLost(f"{self.holder} lost the {self.name} lease (token changed or "
                            "expired); another daemon decides now")
        return token

    def release(self) -> None:
        """Give the lease up so a standby takes over at once instead of after the TTL."""
        if self.token is None:
            return
        with self.store.begin() as conn:
            leases.release(conn, self.name, self.holder, self.token)
        self.token = self.expires_at = None

    def describe(self, conn: Connection) -> dict[str, object] | None:
        """The lease row: holder, token and expiry (an aware UTC datetime on every store)."""
        return leases.describe(conn, self.name)
