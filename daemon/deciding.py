"""The decider loop: take or renew the decider lease, and say when this daemon decides.

Only the lease holder evaluates schedules and sensors. This loop renews the lease at a
third of its time-to-live on the daemon's scheduler, and tells the controller when the
lease is taken (``on_acquired``: start sensors, sweep schedules) or lost (``on_lost``:
stop them). It also keeps the two instants schedule catch-up needs: since when this
daemon decides, and since when it found the lease held by another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from lockgate.errors import StoreError
from lockgate.store import Store
from lockgate.time import clock
from lockgate.time.iso import format_iso

from .health import Loops
from .lease import Lease
from .metrics import Metrics

__all__ = ["Decider"]


class Decider:
    """Holds (or waits for) the decider lease of ``store`` for ``holder``."""

    def __init__(self, store: Store, holder: str, ttl: dt.timedelta, *, since: dt.datetime,
                 scheduler: Any, loops: Loops, metrics: Metrics, log: Any,
                 on_acquired: Callable[[], None], on_lost: Callable[[], None]) -> None:
        self.lease = Lease(store, holder, ttl)
        self.ttl = ttl.total_seconds()
        self.scheduler = scheduler
        self.loops = loops
        self.metrics = metrics
        self.log = log
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.leader = False
        self.deciding_since = since  # reset when the decider lease is taken
        # When this daemon first found the lease held by another: ticks missed from then
        # on were missed while no daemon held the lease, not while none ran.
        self.standby_since: dt.datetime | None = None
        self._last_token: int | None = None

    # -- the Loop protocol ------------------------------------------------------------

    def heartbeats(self) -> Mapping[str, float]:
        return {"lease": self.ttl}

    def start(self) -> None:
        self.scheduler.add_job(self.tick, "interval", seconds=max(self.ttl / 3, 0.5),
                               id="lease")

    def stop(self) -> None:
        """Give the lease up, so another daemon decides at once rather than at expiry."""
        try:
            self.lease.release()
        except StoreError as exc:
            self.log.warning("lease_release_failed", error=str(exc))

    # -- the work ---------------------------------------------------------------------

    def tick(self) -> None:
        """Take or renew the lease; notice a change of role."""
        asked_at = clock.now()
        try:
            held = self.lease.acquire_or_renew()
        except StoreError as exc:
            self.loops.fail("store", str(exc))
            held = self.lease.held  # keep deciding only while the lease has not expired
        self.loops.beat("lease", "leader" if held else "standby")
        if not held and self.standby_since is None:
            self.standby_since = asked_at
        if held and not self.leader:
            self._acquired(asked_at)
        elif not held and self.leader:
            self.lost("not renewed")

    def _acquired(self, asked_at: dt.datetime) -> None:
        self.leader = True
        self.metrics.leader.set(1)
        # Fire times before this were missed while no daemon decided (catch-up policy
        # applies), unless the lease comes straight back to us after a store outage:
        # nobody decided in between, so those ticks were only delayed. Every taking
        # of the lease increments its token, so ours renewed after its expiry (the
        # same token) or re-taken by us with the next one proves nobody else held it.
        token = self.lease.token
        last = self._last_token
        if last is None or token is None or token not in (last, last + 1):
            self.deciding_since = asked_at
        self._last_token = token
        # `fence`, not `token`: the log redaction hides fields named like secrets.
        self.log.info("lease_acquired", fence=token, since=format_iso(self.deciding_since))
        self.on_acquired()

    def lost(self, why: str) -> None:
        """Stop deciding (the lease was not renewed, or a write found it taken)."""
        if not self.leader:
            return
        self.leader = False
        self.metrics.leader.set(0)
        self.log.warning("lease_lost", reason=why)
        self.on_lost()
