"""A worker's child processes: launching a claimed run, timeouts, cancels, the drain.

:class:`Children` holds the attempts a worker started, by run id. The worker's loop asks
it to launch what it claimed and, at every look, to reap children that ended (their
attempt results, for the worker to record), to stop those past their timeout (SIGTERM
to the process group, SIGKILL after ``launcher.kill_grace``) and to stop those whose
run was canceled. At shutdown, what is still running after the grace period is
terminated and left ``running`` for recovery at the next start (marked as stopped at
shutdown, so that its exit status is not taken for the job's). Recovery hands it the
runs it adopted from a dead worker (:meth:`Children.adopt`), watched like the others.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lockgate.definitions import Definitions
from lockgate.errors import LockgateError
from lockgate.runs.queue import AttemptResult
from lockgate.runs.records import Run
from lockgate.statuses import RunStatus
from lockgate.time import clock

from .contexts import context_for
from .launcher import Child, LaunchError, LocalLauncher, attempt_result
from .log_cap import LogCap
from .supervision import AdoptedProcess, base_of, mark_stopped, supervised_status

__all__ = ["Children"]


class Children:
    """The running children of one worker, started with ``launcher``."""

    def __init__(self, launcher: LocalLauncher, log: Any) -> None:
        self.launcher = launcher
        self.log = log
        self._running: dict[int, Child] = {}
        self.log_cap = LogCap()  # retention.max_log_bytes, set by each launch

    def __len__(self) -> int:
        return len(self._running)

    def __iter__(self) -> Iterator[Child]:
        return iter(list(self._running.values()))

    def launch(self, run: Run, defs: Definitions) -> Child | AttemptResult:
        """Start ``run``'s current attempt: its child, or the failed attempt (not retried)
        when it cannot start (target gone from the config, placeholder, program)."""
        if not defs.has_target(run.target):
            return AttemptResult(
                run_id=run.id, attempt=run.attempt, status=RunStatus.FAILED, retryable=False,
                error=f"target {run.target!r} is no longer defined in the config; "
                      "restore it or cancel the run")
        job = defs.target_job(run.target)
        self.log_cap.limit = defs.retention.max_log_bytes
        now_m = clock.monotonic()
        try:
            context = context_for(run, defs)
            child = self.launcher.spawn(
                job, context, now_monotonic=now_m,
                timeout_at=now_m + job.timeout.total_seconds() if job.timeout else None)
        except Exception as exc:  # whatever it is, the run fails instead of hanging
            if not isinstance(exc, LaunchError | LockgateError):
                self.log.exception("run_launch_crashed", run_id=run.id)
                exc = LaunchError(f"could not start the run: {type(exc).__name__}: {exc}")
            self.log.warning("run_launch_failed", run_id=run.id, target=run.target,
                             error=str(exc))
            return AttemptResult(run_id=run.id, attempt=run.attempt, status=RunStatus.FAILED,
                                 error=str(exc), retryable=False)
        child.extra["timeout"] = job.timeout.total_seconds() if job.timeout else 0
        self._running[run.id] = child
        self.log.info("run_started", run_id=run.id, target=run.target, attempt=run.attempt,
                      pid=child.pid, partition_key=run.partition_key)
        return child

    def adopt(self, run: Run, defs: Definitions, *, pid: int, ticks: int) -> Child:
        """Watch ``run``'s supervisor ``pid`` (started by a worker now dead) as if this
        worker had started it: its timeout counts from the run's ``started_at``."""
        now_m = clock.monotonic()
        elapsed = (clock.now() - run.started_at).total_seconds() if run.started_at else 0.0
        job = defs.target_job(run.target) if defs.has_target(run.target) else None
        limit = job.timeout.total_seconds() if job and job.timeout else 0.0
        log_path = run.log_path or str(self.launcher.log_path(run.id, run.attempt))
        base = base_of(log_path)
        child = Child(run_id=run.id, attempt=run.attempt, log_path=log_path,
                      popen=AdoptedProcess(pid, ticks, base), started=now_m - elapsed,
                      deadline=now_m - elapsed + limit if limit else None, base=base)
        child.extra["timeout"] = limit
        self._running[run.id] = child
        self.log.info("run_adopted", run_id=run.id, target=run.target, attempt=run.attempt,
                      pid=pid, lost_worker=run.worker_id)
        return child

    def poll(self, now_m: float, kill_grace: float) -> list[AttemptResult]:
        """Reap the children that ended (their results); stop those past their timeout,
        kill those that outlived their kill grace."""
        ended: list[AttemptResult] = []
        self.log_cap.check(self._running.values(), now_m)
        for run_id, child in list(self._running.items()):
            code = child.popen.poll()
            if code is not None:
                del self._running[run_id]
                if child.base is not None:
                    code = supervised_status(code, child.base)
                # The group may hold grandchildren that outlived the leader: end them too.
                LocalLauncher.signal_group(child, signal.SIGKILL)
                self.log_cap.finish(child.log_path)
                ended.append(attempt_result(child, code, kill_grace=kill_grace))
                continue
            if child.stop_reason is None and child.deadline is not None \
                    and now_m >= child.deadline:
                self.stop(child, "timeout", now_m, kill_grace)
            elif child.kill_at is not None and now_m >= child.kill_at:
                LocalLauncher.signal_group(child, signal.SIGKILL)
                child.kill_at = None
        return ended

    def stop(self, child: Child, reason: str, now_m: float, kill_grace: float) -> None:
        """SIGTERM to the child's group now, SIGKILL at the next look after kill_grace."""
        child.stop_reason = reason
        child.kill_at = now_m + kill_grace
        LocalLauncher.signal_group(child, signal.SIGTERM)
        self.log.info("run_stopping", run_id=child.run_id, reason=reason, pid=child.pid)

    def cancel(self, run_ids: Iterable[int], now_m: float, kill_grace: float) -> None:
        """Stop the children of runs whose cancel was requested (once each)."""
        for run_id in run_ids:
            child = self._running.get(run_id)
            if child is not None and child.stop_reason is None:
                self.stop(child, "canceled", now_m, kill_grace)

    def terminate(self, kill_grace: float, wait: Callable[[float], object]) -> None:
        """End every child still running (shutdown past its grace): SIGTERM, SIGKILL
        after ``kill_grace``; their runs stay ``running`` for recovery to find."""
        if not self._running:
            return
        for child in self._running.values():
            if child.base is not None:  # its result must not read as a failure later
                mark_stopped(child.base)
            self.stop(child, "shutdown", clock.monotonic(), kill_grace)
        end = clock.monotonic() + kill_grace
        while clock.monotonic() < end and any(
                c.popen.poll() is None for c in self._running.values()):
            wait(0.02)
        for child in self._running.values():
            LocalLauncher.signal_group(child, signal.SIGKILL)
            child.popen.wait()
            self.log.warning("run_left_for_recovery", run_id=child.run_id)
        self._running.clear()
