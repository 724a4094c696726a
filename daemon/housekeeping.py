"""The housekeeping loop: the daemon's heartbeat row, store gauges, health, the watchdog.

Every couple of seconds (more often when systemd's watchdog asks for it) on the daemon's
scheduler: beat ``scheduler`` (the scheduler runs jobs), write this daemon's row in the
store with its loops' health and beat ``store`` (or mark it failed), refresh the metrics
that read the store and the loops' heartbeat ages, pet the watchdog while every loop is
healthy, and give systemd the status line. A store that a newer lockgate upgraded under
the daemon (its revision is past this code's head) is reported to ``on_schema_ahead``,
which stops the daemon: this code must not go on writing to a schema it does not know.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from lockgate import __version__
from lockgate.errors import StoreError
from lockgate.store import Store
from lockgate.time import clock

from .health import Loops
from .metrics import Metrics
from .sdnotify import Notifier

__all__ = ["HOUSEKEEPING_SECONDS", "Housekeeping"]

HOUSEKEEPING_SECONDS = 2.0


class Housekeeping:
    """Keeps ``daemon_id``'s row, gauges and systemd informed of the loops in ``loops``."""

    def __init__(self, store: Store, daemon_id: str, *, scheduler: Any, loops: Loops,
                 metrics: Metrics, notifier: Notifier, started_at: dt.datetime,
                 leader: Callable[[], bool], status_line: Callable[[], str],
                 on_schema_ahead: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.daemon_id = daemon_id
        self.scheduler = scheduler
        self.loops = loops
        self.metrics = metrics
        self.notifier = notifier
        self.started_at = started_at
        self.leader = leader
        self.status_line = status_line
        self.on_schema_ahead = on_schema_ahead

    # -- the Loop protocol ------------------------------------------------------------

    def heartbeats(self) -> Mapping[str, float]:
        late = 3 * HOUSEKEEPING_SECONDS + 5
        return {"scheduler": late, "store": late}

    def start(self) -> None:
        interval = HOUSEKEEPING_SECONDS
        if self.notifier.watchdog_interval:
            interval = min(interval, self.notifier.watchdog_interval)
        self.scheduler.add_job(self.tick, "interval", seconds=interval, id="housekeeping")

    def stop(self) -> None:
        """Nothing to end here: its timer ends with the scheduler's shutdown."""

    # -- the work ---------------------------------------------------------------------

    def tick(self) -> None:
        self.loops.beat("scheduler")
        try:
            with self.store.begin() as conn:
                self._heartbeat_row(conn)
            with self.store.read() as conn:
                self.metrics.refresh_from_store(conn)
            self._check_schema()
            self.loops.beat("store")
            self.metrics.up.set(1)
        except StoreError as exc:
            self.loops.fail("store", str(exc))
            self.metrics.up.set(0)
        healthy, loops = self.loops.report()
        for name, info in loops.items():
            if info["age_seconds"] is not None:
                self.metrics.loop_age.labels(name).set(info["age_seconds"])
        if healthy:
            self.notifier.watchdog()
        self.notifier.status(self.status_line())

    def mark_stopped(self) -> None:
        """Record this daemon's stop in its row (``lockgate db upgrade`` reads it);
        a store that does not answer is left to the row's aging beat."""
        from lockgate.store import daemons

        try:
            with self.store.begin() as conn:
                daemons.stopped(conn, daemon_id=self.daemon_id, now=clock.now())
        except StoreError:
            pass

    def _check_schema(self) -> None:
        from lockgate.store import migrate

        if self.on_schema_ahead is None:
            return
        ahead = migrate.upgraded_past(self.store)
        if ahead is not None:
            self.on_schema_ahead(ahead)

    def _heartbeat_row(self, conn: Any) -> None:
        from lockgate.store import daemons
        from lockgate.store.migrate import head_revision

        _, loops = self.loops.report()
        info = json.dumps({"leader": self.leader(), "schema": head_revision(), "loops": loops},
                          default=str)
        daemons.beat(conn, daemon_id=self.daemon_id, hostname=socket.gethostname(),
                     pid=os.getpid(), version=__version__, started_at=self.started_at,
                     now=clock.now(), info=info)
