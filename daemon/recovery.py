"""Recovery of runs whose worker is gone (DESIGN.md invariant 4: crash-only).

A run's worker is gone when the run is ``starting`` or ``running`` and either its
worker was on this host and that process no longer exists, or nobody renewed its
heartbeat for ``heartbeat_timeout``. For a worker that died on this host, the files of
the attempt's supervisor (:mod:`.supervision`) tell what happened meanwhile: a
complete result file records the attempt's true outcome (exit code and end time), a
supervisor still alive is adopted by the recovering worker, which watches it from then
on. Otherwise the run is lost: its attempt is failed with the reason, then retried by
its job's policy. Children of a lost run that are still alive on this host are killed
first (found by process group and their ``LOCKGATE_RUN_ID``), so recovery never lets
two attempts of one run execute at once.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockgate.definitions import Definitions
from lockgate.runs import queue
from lockgate.runs.queue import AttemptResult
from lockgate.runs.records import Run
from lockgate.statuses import RunStatus
from lockgate.store import Store
from lockgate.store.connection import Connection
from lockgate.time import clock
from lockgate.time.iso import format_iso

from .launcher import exit_result
from .supervision import base_of, read_outcome, read_pid, shell_status, verified_wrapper

__all__ = ["Recovered", "parse_worker_id", "process_alive", "recover_lost_runs"]


def parse_worker_id(worker_id: str | None) -> tuple[str | None, int | None, int | None]:
    """(host, pid, process start ticks) from a ``host:pid:start-token`` worker id."""
    if not worker_id:
        return None, None, None
    parts = worker_id.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None, None, None
    start = parts[2].split("-", 1)[0]
    return parts[0], int(parts[1]), int(start) if start.isdigit() and start != "0" else None


def process_start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (/proc/PID/stat field 22)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def process_alive(pid: int, *, started: int | None = None) -> bool:
    """Whether process ``pid`` exists and, given ``started``, is the one that started
    then (not a later process that reuses the pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if started is None:
        return True
    now_started = process_start_ticks(pid)
    return now_started is None or now_started == started


@dataclass(frozen=True, kw_only=True, slots=True)
class Recovered:
    """One run recovery took care of: ``outcome`` is ``lost`` (failed, retried by its
    policy), ``adopted`` (this worker now watches it: ``run``, supervisor ``pid`` and
    its start ``ticks``), or the status recorded from the supervisor's result file."""

    run_id: int
    worker_id: str | None
    outcome: str
    exit_code: int | None = None
    run: Run | None = None
    pid: int | None = None
    ticks: int = 0


def recover_lost_runs(
    store: Store,
    defs: Definitions,
    *,
    own_worker_id: str,
    heartbeat_timeout: dt.timedelta,
    finish_hooks: Sequence[Any] = (),
    log_path: Callable[[int, int], os.PathLike[str]] | None = None,
    adopt: bool = False,
    trust_stale: bool = True,
) -> list[Recovered]:
    """Record, adopt or fail the runs whose worker is gone.

    For a worker that died on this host, the attempt's supervisor files decide (see
    :mod:`.supervision`): a complete result file records the attempt's true outcome; a
    live supervisor is adopted (with ``adopt``) by this worker; else the run is lost.
    ``log_path(run_id, attempt)`` finds the files of a run that was still ``starting``.
    Lost runs (and those of a stale heartbeat anywhere) fail and retry by policy.
    ``trust_stale`` False: a stale heartbeat alone loses no run (just after a store
    outage nobody could write one); a worker gone from this host still does.
    """
    now = clock.now()
    host = socket.gethostname()
    with store.begin() as conn:
        candidates: list[tuple[Run, bool, bool]] = []  # run, worker here, dead here
        for run in queue.active_runs(conn):
            if run.worker_id == own_worker_id:
                continue
            w_host, w_pid, w_started = parse_worker_id(run.worker_id)
            here = w_host == host
            dead_here = here and w_pid is not None and not process_alive(
                w_pid, started=w_started)
            stale = trust_stale and (run.heartbeat_at is None
                                     or run.heartbeat_at < now - heartbeat_timeout)
            if dead_here or stale:
                candidates.append((run, here, dead_here))
        if not candidates:
            return []
        done: list[Recovered] = []
        results: list[AttemptResult] = []
        for run, here, dead_here in candidates:
            base = _base(run, log_path)
            # A worker that is alive but silent may still reap its children: only the
            # files of a dead one's are taken over.
            found = _settle(conn, run, base, own_worker_id=own_worker_id, now=now,
                            adopt=adopt) if dead_here and base else None
            if found is None:
                if here and (pid := run.pid or (read_pid(base) if base else None)):
                    kill_run_processes(run.id, pid)
                found = _lost(run)
            if found[0].outcome != "taken":
                done.append(found[0])
            if found[1] is not None:
                results.append(found[1])
        policies = {run.id: defs.target_job(run.target).retries for run, _, _ in candidates
                    if defs.has_target(run.target)}
        applied = queue.finish_attempts(conn, results, policies=policies, now=now)
        for hook in finish_hooks:
            hook(conn, applied, now)
    return done


def _base(run: Run, log_path: Callable[[int, int], os.PathLike[str]] | None) -> str | None:
    if run.log_path:
        return base_of(run.log_path)
    return base_of(log_path(run.id, run.attempt)) if log_path else None


def _settle(conn: Connection, run: Run, base: str, *, own_worker_id: str,
            now: dt.datetime, adopt: bool) -> tuple[Recovered, AttemptResult | None] | None:
    """The run's outcome from its supervisor: recorded, adopted, or None (lost)."""
    outcome = read_outcome(base)
    if outcome is not None and not (outcome.stopped and outcome.status != 0):
        code = shell_status(outcome.status)
        if run.pid:  # grandchildren that outlived the job
            kill_run_processes(run.id, run.pid)
        result = exit_result(run_id=run.id, attempt=run.attempt, code=code,
                             log_path=base + ".log", finished_at=outcome.finished_at)
        return Recovered(run_id=run.id, worker_id=run.worker_id, outcome=result.status,
                         exit_code=code), result
    if not adopt or outcome is not None or os.path.exists(base + ".stopped"):
        return None
    wrapper = verified_wrapper(run.pid or read_pid(base), run.id)
    if wrapper is None:
        return None
    pid, ticks = wrapper
    if not queue.adopt(conn, run, worker_id=own_worker_id, pid=pid, log_path=base + ".log",
                       now=now):  # another worker took it over first: leave it alone
        return Recovered(run_id=run.id, worker_id=run.worker_id, outcome="taken"), None
    return Recovered(run_id=run.id, worker_id=run.worker_id, outcome="adopted", run=run,
                     pid=pid, ticks=ticks), None


def _lost(run: Run) -> tuple[Recovered, AttemptResult]:
    return Recovered(run_id=run.id, worker_id=run.worker_id, outcome="lost"), AttemptResult(
        run_id=run.id, attempt=run.attempt, status=RunStatus.FAILED,
        error=f"lost: worker {run.worker_id} stopped while the run was {run.status} "
              f"(last heartbeat {_when(run.heartbeat_at)})",
        log_path=run.log_path,
    )


def kill_run_processes(run_id: int, pgid: int) -> int:
    """SIGKILL every process of group ``pgid`` that belongs to run ``run_id``."""
    marker = f"LOCKGATE_RUN_ID={run_id}\0".encode()
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) != pgid:
                continue
            if marker not in (entry / "environ").read_bytes():
                continue
            os.kill(int(entry.name), signal.SIGKILL)
            killed += 1
        except (OSError, ValueError, IndexError):
            continue
    return killed


def _when(value: dt.datetime | None) -> str:
    return format_iso(value) if value else "never"
