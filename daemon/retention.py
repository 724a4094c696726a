"""The retention loop: the retention policy every ``retention.interval``.

Only the lease holder deletes rows (one writer per decision); every daemon sweeps the
log folders of its own state directory, since each keeps the logs of the runs it
executed. A pass deletes in small batches (:class:`lockgate.runs.retention.Pruner`),
logs ``retention_pruned`` with what went and counts it in
``lockgate_retention_pruned_total{table=...}``. A store error ends the pass, is logged,
and the next interval tries again; it never stops the daemon.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lockgate.definitions import Definitions
from lockgate.errors import StoreError
from lockgate.runs.retention import Pruner, PruneReport
from lockgate.store import Store
from lockgate.time import clock

from .metrics import Metrics

__all__ = ["RetentionLoop"]


class RetentionLoop:
    """Prunes ``store`` by the retention settings of ``defs()`` on ``scheduler``."""

    def __init__(self, store: Store, defs: Callable[[], Definitions], *, scheduler: Any,
                 metrics: Metrics, log: Any, leader: Callable[[], bool],
                 stopping: Callable[[], bool]) -> None:
        self.store = store
        self.defs = defs
        self.scheduler = scheduler
        self.metrics = metrics
        self.log = log
        self.leader = leader
        self.stopping = stopping

    # -- the Loop protocol ------------------------------------------------------------

    def heartbeats(self) -> Mapping[str, float]:
        return {}  # a pass may rightly take long; its failures are logged and retried

    def start(self) -> None:
        seconds = self.defs().retention.interval.total_seconds()
        self.scheduler.add_job(self.tick, "interval", seconds=seconds, id="retention")

    def stop(self) -> None:
        """Nothing to end here: its timer ends with the scheduler's shutdown, and a pass
        under way stops at its next batch (``stopping``)."""

    # -- the work ---------------------------------------------------------------------

    def tick(self) -> PruneReport | None:
        """One pass; the report, or None when the store failed (tried again next time)."""
        defs = self.defs()
        pruner = Pruner(self.store, defs.retention, state_dir=defs.launcher.state_dir,
                        stopping=self.stopping)
        leader = self.leader()
        try:
            report = pruner.prune(clock.now(), rows=leader)
        except StoreError as exc:
            self.log.warning("retention_failed", error=str(exc), retry_in=str(
                defs.retention.interval))
            return None
        except Exception:  # a bug here must not stop the daemon's timers
            self.log.exception("retention_crashed")
            return None
        for table, count in report.deleted.items():
            if count:
                self.metrics.retention_pruned.labels(table=table).inc(count)
        if report.total:
            self.log.info("retention_pruned", rows=leader, free_pages=report.free_pages,
                          **report.deleted)
        return report
