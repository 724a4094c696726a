"""The worker loop: claim queued runs, launch them, watch them, record how they end.

Launching and supervising the child processes (timeouts, cancels, the shutdown drain)
is :mod:`.children`'s; this module claims, records results and heartbeats. One thread
runs the loop; other threads talk to it only through :meth:`Worker.wake`
and :meth:`Worker.request_stop`. Every state change goes through the store first
(claim before spawn, result before forgetting the child), so a worker killed at any
instruction leaves runs that recovery can find: ``starting``/``running`` rows whose
worker is gone.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lockgate.definitions import Definitions, Job, RetryPolicy
from lockgate.errors import StoreError
from lockgate.logs import get_logger
from lockgate.partitions.backfills import backfill_hook
from lockgate.partitions.status import record_outcomes
from lockgate.runs import queue
from lockgate.runs.queue import AttemptResult, Limits
from lockgate.statuses import RunStatus
from lockgate.store import Store, claim_lanes
from lockgate.store import runs as store_runs
from lockgate.store.connection import Connection
from lockgate.time import clock

from .backoff import StoreBackoff
from .children import Children
from .durations import FinishedAttempts
from .launcher import Child, LocalLauncher
from .recovery import process_start_ticks, recover_lost_runs

__all__ = ["FinishHook", "Worker", "WorkerStats", "new_worker_id"]

FinishHook = Callable[[Connection, list[tuple[AttemptResult, bool]], dt.datetime], None]
_BUSY_WAIT = 0.002  # seconds between looks at running children


def new_worker_id() -> str:
    """``host:pid:start-random``: recovery reads the host, pid and the process's start
    time back to spot dead workers (a reused pid has another start time)."""
    started = process_start_ticks(os.getpid())
    return f"{socket.gethostname()}:{os.getpid()}:{started or 0}-{uuid.uuid4().hex[:8]}"


@dataclass
class WorkerStats:
    launched: int = 0
    succeeded: int = 0
    failed: int = 0  # failed finally (no retry left)
    canceled: int = 0
    retried: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class Worker:
    """Claims and executes runs from ``store`` within the limits of ``defs``."""

    def __init__(
        self,
        store: Store,
        defs: Definitions,
        *,
        worker_id: str | None = None,
        slots: int | None = None,
        launcher: LocalLauncher | None = None,
    ) -> None:
        self.store = store
        self.worker_id = worker_id or new_worker_id()
        self.log = get_logger("worker", worker_id=self.worker_id)
        self.stats = WorkerStats()
        # Run in the transaction that records results: partition status, then backfills
        # (release waiting runs, notice a backfill's end when its last run finishes).
        self.finished = FinishedAttempts()  # durations, handed on after each commit
        self.finish_hooks: list[FinishHook] = [self._record_partitions, backfill_hook,
                                               self.finished.collect]
        # Called after that transaction committed (side effects outside the store).
        self.after_finish: list[Callable[[list[tuple[AttemptResult, bool]]], None]] = []
        self._wake = threading.Event()
        self._stopping = threading.Event()
        # Set by a signal handler (a plain assignment: it must take no lock); the loop
        # stops at its next look, as after request_stop().
        self.signaled: str | None = None
        self._pending: list[AttemptResult] = []  # results not yet recorded (store down)
        self._backoff = StoreBackoff(self.log)
        self.slots = slots or defs.launcher.max_concurrent_runs
        self.set_definitions(defs, slots=slots)
        self.launcher = launcher or LocalLauncher(
            state_dir=defs.launcher.state_dir, pythonpath=defs.base_dir,
            on_daemon_exit=defs.launcher.on_daemon_exit)
        self.children = Children(self.launcher, self.log)
        self.last_beat = clock.monotonic()
        self.on_beat: Callable[[], None] | None = None  # called once per loop iteration
        # Loop timing (monotonic): claim at once, then when a wake or the poll says so.
        self._claim_now, self._claim_due_at = True, 0.0
        self._last_heartbeat = self._last_recovery = self.last_beat

    # -- control from other threads ---------------------------------------------------

    def set_definitions(self, defs: Definitions, *, slots: int | None = None) -> None:
        """Swap in new definitions (a reload); running children are not touched."""
        jobs: dict[str, Job] = {**{a.job.name: a.job for a in defs.assets.values()},
                                **defs.jobs}
        self.defs = defs
        if slots:
            self.slots = slots  # else the slots it started with: a reload keeps them
        self.limits = Limits(
            max_concurrent_runs=defs.launcher.max_concurrent_runs,
            per_job={name: job.max_concurrent for name, job in jobs.items()
                     if job.max_concurrent},
            pools=dict(defs.pools),
            job_pools={name: job.concurrency_key for name, job in jobs.items()
                       if job.concurrency_key},
        )

    def wake(self) -> None:
        """Look at the queue now (runs were just queued)."""
        self._claim_now = True
        self._wake.set()

    def request_stop(self) -> None:
        """Stop claiming; :meth:`run` then drains within its grace period."""
        self._stopping.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- the loop -----------------------------------------------------------------------

    def run(self, *, drain: bool = False, grace: float | None = None) -> WorkerStats:
        """Loop until stopped (or, with ``drain``, until the queue is empty and idle).

        On stop, running children get ``grace`` seconds to finish; then they are
        terminated and their runs left ``running`` for recovery at the next start.
        """
        grace = self.defs.launcher.shutdown_grace.total_seconds() if grace is None else grace
        self.recover()
        self._last_heartbeat = self._last_recovery = clock.monotonic()
        self._claim_now, self._claim_due_at = True, 0.0
        while not self._stopping.is_set() and self.signaled is None:
            try:
                if self._iterate(drain, self.defs.launcher):
                    break
            except Exception:  # a bug here must not silently stop every run
                self.log.exception("worker_loop_error")
                self._wake.wait(0.5)
        if self.signaled is not None:
            self.log.info("worker_stop_requested", signal=self.signaled)
            self._stopping.set()
        self._shutdown(grace)
        return self.stats

    def _iterate(self, drain: bool, settings: Any) -> bool:
        """One pass of the loop; True when a drain is complete."""
        now_m = clock.monotonic()
        self.last_beat = now_m
        if self.on_beat is not None:
            self.on_beat()
        self._watch_children(now_m)
        claimed = 0
        if self._claim_now or now_m >= self._claim_due_at:
            # Claiming is a write transaction: only when something may have changed (a
            # wake, a slot freed, a run re-queued) or at the poll interval, never at
            # every look at the children.
            self._claim_now = False
            poll = settings.poll_interval.total_seconds()
            self._claim_due_at = now_m + (min(poll, 0.05) if drain else poll)
            claimed = self._claim_and_launch()
        if now_m - self._last_heartbeat >= settings.heartbeat_interval.total_seconds():
            self._heartbeat()
            self._last_heartbeat = now_m
        if now_m - self._last_recovery >= settings.heartbeat_timeout.total_seconds() / 2:
            self.recover()
            self._last_recovery = now_m
        if drain and not self.children and not claimed and not self._pending \
                and self._queue_empty():
            return True
        if claimed:
            return False
        wait = _BUSY_WAIT if self.children else settings.poll_interval.total_seconds()
        if drain and not self.children:
            wait = min(wait, 0.05)
        self._wake.wait(wait)
        self._wake.clear()
        return False

    def _queue_empty(self) -> bool:
        """No queued run that a worker could ever claim (a paused backfill's runs wait
        for its resume, so a drain does not wait for them)."""
        try:
            with self.store.read() as conn:
                return not claim_lanes.any_claimable(conn)
        except StoreError:
            return False

    # -- claiming and launching ---------------------------------------------------------

    def _claim_and_launch(self) -> int:
        free = self.slots - len(self.children)
        if free <= 0 or self._stopping.is_set() or not self._backoff.ready():
            return 0
        try:
            with self.store.begin() as conn:
                claimed = queue.claim(conn, worker_id=self.worker_id, limits=self.limits,
                                      now=clock.now(), max_runs=free)
        except StoreError as exc:
            self._backoff.failed(exc)
            return 0
        self._backoff.succeeded()
        if not claimed:
            return 0
        if len(claimed) == free:
            self._claim_now = True  # the queue may hold more for the slots freed next
        started: list[Child] = []
        for run in claimed:
            child = self.children.launch(run, self.defs)
            if isinstance(child, AttemptResult):
                self._pending.append(child)  # it could not start: a failed attempt
            else:
                started.append(child)
                self.stats.launched += 1
        if started:
            try:
                with self.store.begin() as conn:
                    for child in started:
                        queue.mark_running(conn, run_id=child.run_id, attempt=child.attempt,
                                           pid=child.pid, log_path=child.log_path)
            except StoreError as exc:  # the rows stay `starting`; results still land later
                self._backoff.failed(exc)
        return len(claimed)

    # -- watching children ----------------------------------------------------------------

    def _watch_children(self, now_m: float) -> None:
        ended = self.children.poll(now_m, self.defs.launcher.kill_grace.total_seconds())
        if ended:
            self._claim_now = True  # a slot is free
            self._pending.extend(ended)
        if self._pending:
            self._record_results()

    def _record_results(self) -> None:
        if not self._backoff.ready():
            return
        results, self._pending = self._pending, []
        now = clock.now()
        try:
            with self.store.begin() as conn:
                policies = self._policies(conn, [r.run_id for r in results])
                applied = queue.finish_attempts(conn, results, policies=policies, now=now)
                for hook in self.finish_hooks:
                    hook(conn, applied, now)
        except StoreError as exc:
            self.finished.discard()
            self._pending = results + self._pending
            self._backoff.failed(exc)
            return
        self.finished.publish()
        self._backoff.succeeded()
        self._claim_now = True  # retries and released backfill runs may be claimable
        for res, final in applied:
            self._count(res, final)
        self._after_commit(applied)

    def _after_commit(self, applied: list[tuple[AttemptResult, bool]]) -> None:
        """The side effects outside the store of recorded attempts."""
        for callback in self.after_finish:
            try:
                callback(applied)
            except Exception:  # a side effect failing must not stop the worker
                self.log.exception("after_finish_failed")

    def _record_partitions(self, conn: Connection, applied: list[tuple[AttemptResult, bool]],
                           now: dt.datetime) -> None:
        record_outcomes(conn, self.defs, applied, now)

    def _policies(self, conn: Connection, run_ids: list[int]) -> dict[int, RetryPolicy]:
        out = {}
        for run_id, target in store_runs.targets(conn, run_ids):
            if self.defs.has_target(target):
                out[run_id] = self.defs.target_job(target).retries
        return out

    def _count(self, res: AttemptResult, final: bool) -> None:
        fields: dict[str, Any] = {"run_id": res.run_id, "attempt": res.attempt}
        if res.exit_code is not None:
            fields["exit_code"] = res.exit_code
        if not final:
            self.stats.retried += 1
            self.log.warning("run_retry_scheduled", error=_first(res.error), **fields)
            return
        if res.status == RunStatus.SUCCEEDED:
            self.stats.succeeded += 1
            self.log.info("run_succeeded", **fields)
        elif res.status == RunStatus.CANCELED:
            self.stats.canceled += 1
            self.log.info("run_canceled", **fields)
        else:
            self.stats.failed += 1
            self.log.warning("run_failed", error=_first(res.error), **fields)

    # -- heartbeats, cancels, recovery ----------------------------------------------------

    def _heartbeat(self) -> None:
        if not self._backoff.ready():
            return
        try:
            with self.store.begin() as conn:
                cancel = queue.heartbeat(conn, worker_id=self.worker_id, now=clock.now())
        except StoreError as exc:
            self._backoff.failed(exc)
            return
        self.children.cancel(cancel, clock.monotonic(),
                             self.defs.launcher.kill_grace.total_seconds())

    def recover(self) -> None:
        """Record, adopt, or fail (and retry by policy) runs whose worker is gone."""
        if not self._backoff.ready():
            return
        timeout = self.defs.launcher.heartbeat_timeout
        # No worker could write a heartbeat while the store was away: right after an
        # outage a stale one proves nothing until each had heartbeat_timeout to write.
        up = self._backoff.up_since
        trust_stale = up is None or clock.monotonic() - up >= timeout.total_seconds()
        applied: list[tuple[AttemptResult, bool]] = []
        try:
            recovered = recover_lost_runs(
                self.store, self.defs, own_worker_id=self.worker_id,
                heartbeat_timeout=timeout,
                finish_hooks=[*self.finish_hooks, lambda _c, done, _n: applied.extend(done)],
                log_path=self.launcher.log_path, adopt=self.launcher.supervise,
                trust_stale=trust_stale)
        except StoreError as exc:
            self.finished.discard()
            self._backoff.failed(exc)
            return
        self.finished.publish()
        # A file whose run succeeded meanwhile is archived. Not counted: this worker did
        # not execute these attempts (``worker --drain``'s exit status is about its own).
        self._after_commit(applied)
        self.children.log_cap.limit = self.defs.retention.max_log_bytes
        for res, _final in applied:  # ended while no worker watched: capped now
            if res.log_path:
                self.children.log_cap.finish(res.log_path)
        for item in recovered:
            if item.run is not None and item.pid is not None:
                self.children.adopt(item.run, self.defs, pid=item.pid, ticks=item.ticks)
                continue
            fields = {} if item.exit_code is None else {"exit_code": item.exit_code}
            self.log.warning("run_recovered", run_id=item.run_id, lost_worker=item.worker_id,
                             outcome=str(item.outcome), **fields)

    # -- shutdown ---------------------------------------------------------------------------

    def _shutdown(self, grace: float) -> None:
        deadline = clock.monotonic() + grace
        if self.children:
            self.log.info("worker_draining", running=len(self.children), grace=grace)
        while self.children and clock.monotonic() < deadline:
            self._watch_children(clock.monotonic())
            self._nap(0.02)
        self.children.terminate(self.defs.launcher.kill_grace.total_seconds(), self._nap)
        if self._pending:
            self._backoff.reset()
            self._record_results()

    def _nap(self, seconds: float) -> None:
        """Wait ``seconds`` while stopping. The stop request left the wake event set, so
        waiting on it as it is would return at once and spin through the grace period."""
        self._wake.clear()
        self._wake.wait(seconds)


def _first(text: str | None) -> str | None:
    return text.splitlines()[0] if text else text
