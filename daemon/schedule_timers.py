"""The schedule loop: one timer per schedule at its next fire time, and a sweep.

While this daemon holds the decider lease, each schedule has an APScheduler ``date`` job
at its next fire time (``schedule:NAME``); a sweep every few seconds re-evaluates every
schedule, so catch-up after a start, a takeover or a clock jump does not wait for a
timer. An evaluation decides and records the ticks that are due
(:func:`~lockgate.daemon.schedules.evaluate_schedule`), then counts and logs them here.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from typing import Any

from lockgate.definitions import Definitions
from lockgate.errors import StoreError
from lockgate.store import Store
from lockgate.time import clock
from lockgate.time.fire_times import FireTime, fire_times

from .contexts import ScheduleContext
from .deciding import Decider
from .lease import LeaseLost
from .metrics import Metrics
from .schedules import TickDecision, evaluate_schedule
from .user_pool import UserCodeStopped

__all__ = ["SWEEP_SECONDS", "ScheduleTimers"]

SWEEP_SECONDS = 15.0


class ScheduleTimers:
    """Evaluates ``defs``' schedules on time, only while ``decider`` holds the lease."""

    def __init__(self, store: Store, defs: Definitions, *, scheduler: Any, decider: Decider,
                 metrics: Metrics, log: Any, call_user: Callable[..., Any],
                 on_runs: Callable[[], None], stopping: threading.Event) -> None:
        self.store = store
        self.defs = defs
        self.scheduler = scheduler
        self.decider = decider
        self.metrics = metrics
        self.log = log
        self.call_user = call_user  # (fn, *args): user code with the tick timeout
        self.on_runs = on_runs  # runs were queued: wake the worker
        self.stopping = stopping
        self._eval_lock = threading.Lock()

    # -- the Loop protocol ------------------------------------------------------------

    def heartbeats(self) -> Mapping[str, float]:
        return {}  # its timers run on the scheduler, whose beat housekeeping gives

    def start(self) -> None:
        self.scheduler.add_job(self.sweep, "interval", seconds=SWEEP_SECONDS, id="sweep")

    def stop(self) -> None:
        """Nothing to end here: the timers end with the scheduler's shutdown, and an
        evaluation still running sees the daemon's stop flag before it writes."""

    # -- control ----------------------------------------------------------------------

    def set_definitions(self, defs: Definitions) -> set[str]:
        """Use ``defs`` from now on; returns the schedules it removed (timers dropped)."""
        removed = set(self.defs.schedules) - set(defs.schedules)
        self.defs = defs
        for name in removed:
            job = self.scheduler.get_job(f"schedule:{name}")
            if job is not None:
                job.remove()
        return removed

    def sweep_soon(self) -> None:
        """Sweep on the scheduler's pool at once (after a reload)."""
        self.scheduler.add_job(self.sweep, id="sweep-after-reload", replace_existing=True)

    def disarm(self) -> None:
        """Drop every schedule's timer (the lease is gone)."""
        for job in self.scheduler.get_jobs():
            if job.id.startswith("schedule:"):
                job.remove()

    # -- the work ---------------------------------------------------------------------

    def sweep(self) -> None:
        """Evaluate every schedule (catch-up after a start, a takeover or a clock jump)."""
        for name in list(self.defs.schedules):
            self._evaluate(name)

    def _on_timer(self, name: str) -> None:
        self._evaluate(name)

    def _evaluate(self, name: str) -> None:
        if not self.decider.leader or self.stopping.is_set():
            return
        defs = self.defs
        schedule = defs.schedules.get(name)
        if schedule is None:
            return
        with self._eval_lock:
            now = clock.now()
            try:
                decisions = evaluate_schedule(
                    self.store, defs, schedule, now=now, lease=self.decider.lease,
                    call_user=self._call_schedule, deciding_since=self.decider.deciding_since,
                    standby_since=self.decider.standby_since)
            except LeaseLost as exc:
                self.decider.lost(str(exc))
                return
            except UserCodeStopped:  # stopping: nothing written, decided after a restart
                return
            except StoreError as exc:
                self.log.error("schedule_evaluation_failed", schedule=name, error=str(exc))
                self._arm(name, now)
                return
            except Exception:  # a bug must not stop the other schedules
                self.log.exception("schedule_evaluation_crashed", schedule=name)
                self._arm(name, now)
                return
        if self._report(name, decisions, now):
            self.on_runs()
        self._arm(name, now)

    def _report(self, name: str, decisions: list[TickDecision], now: dt.datetime) -> bool:
        """Count and log each tick; True when one created a run."""
        created = False
        for d in decisions:
            status = d.status
            self.metrics.ticks.labels("schedule", name, status).inc()
            self.metrics.tick_lag.labels(name).set((now - d.fire.instant).total_seconds())
            if d.run and d.created:
                created = True
                self.metrics.trigger_latency.labels("schedule").observe(
                    max((clock.now() - d.fire.instant).total_seconds(), 0))
            self.log.info("schedule_tick", schedule=name, status=status,
                          scheduled_for=d.fire.instant.isoformat(), run_ids=list(d.run_ids),
                          created=d.created, skip_reason=d.reason, dst=d.fire.note,
                          error=(d.error or "").splitlines()[-1:] or None)
        return created

    def _arm(self, name: str, now: dt.datetime) -> None:
        schedule = self.defs.schedules.get(name)
        if schedule is None or not self.decider.leader:
            return
        nxt = next(fire_times(schedule, after=now, limit=1), None)
        if nxt is None:
            return
        self.scheduler.add_job(self._on_timer, "date", run_date=nxt.instant, args=[name],
                               id=f"schedule:{name}", replace_existing=True)

    def _call_schedule(self, fn: Any, fire: FireTime) -> Any:
        return self.call_user(fn, ScheduleContext(fn.__name__, fire))
